package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/go-apitoken/apitoken"
)

// FuzzBodies posts arbitrary bodies to the routes that read one: the
// handler answers 201, 200, 400 or 413, never 500, and never panics.
func FuzzBodies(f *testing.F) {
	for _, s := range []string{
		`{"name":"a"}`, `{"name":"c","type":"custom","permissions":["api::article.article.find"]}`,
		`{"name":"l","lifespan":604800000}`, `{"lifespan":null}`, `{"overlap":86400000}`, `{"name":`, `[]`, `null`, ``,
		`{"name":"a","name":"b"}`, `{"name":"\u0000"}`, `{"permissions":[null]}`, `{"lifespan":1e400}`, `{"name":"a"} x`,
		// Ambiguous bodies: mis-cased and duplicate keys, escaped duplicates,
		// nested duplicates, and names that display as something else.
		`{"name":"a","type":"read-only","TYPE":"full-access"}`, `{"Name":"a"}`, `{"name":"a","typ\u0065":"custom","type":"full-access"}`,
		`{"name":"a","permissions":[{"x":1,"x":2}]}`, `{"overlap":0,"overlap":86400000}`, `{"OVERLAP":1}`,
		`{"name":"invoice\u202egpj.exe"}`, `{"name":"a\u2066b\u2069"}`, `{"name":"c\u200bi"}`, `{"name":"d","description":"\u202e"}`,
	} {
		f.Add(s)
	}
	e := newEnv(f, apitoken.Config{})
	f.Fuzz(func(t *testing.T, body string) {
		e.t = t
		id := e.create(`{"name":"fuzz target"}`).ID
		for _, rt := range [][2]string{{"POST", "/api-tokens"}, {"PUT", "/api-tokens/" + id}, {"POST", "/api-tokens/" + id + "/regenerate"}} {
			r := e.do(rt[0], rt[1], body)
			switch r.status {
			case 200, 201, 400, 413:
			default:
				t.Fatalf("%s %s %q: %d %s", rt[0], rt[1], body, r.status, r.raw)
			}
		}
		e.do("DELETE", "/api-tokens/"+id, "")
		list, err := e.svc.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range list {
			e.do("DELETE", "/api-tokens/"+tok.ID, "")
		}
	})
}

// FuzzListQuery sends arbitrary query strings to the list: it answers 200
// with a list, or 400 naming what it refused; never 500, never a panic.
func FuzzListQuery(f *testing.F) {
	for _, s := range []string{"", "page=2&pageSize=10", "sort=expiresAt:desc", "q=ci&type=custom&status=expiring",
		"page=0", "pageSize=1000", "sort=name:up", "idle=90d", "idle=90d&status=active&sort=lastUsedAt:desc", "idle=0d", "q=%ff", "q=a&q=b", "%zz", "a;b", "filters[name][$eq]=x", "page=+1",
		"page=1&page=1", "sort=", "status=expired&status=", "q=" + strings.Repeat("é", 201)} {
		f.Add(s)
	}
	e := newEnv(f, apitoken.Config{})
	e.create(`{"name":"listed","description":"for the fuzzer"}`)
	f.Fuzz(func(t *testing.T, query string) {
		e.t = t
		req, err := http.NewRequest("GET", e.server.URL+"/admin/api-tokens", nil)
		if err != nil {
			t.Skip()
		}
		req.URL.RawQuery = query
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Skip() // the client refused the URL
		}
		defer res.Body.Close()
		if res.StatusCode == 400 && !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Skip() // net/http refused the request line (a space, a control character) before the handler
		}
		var body struct {
			Data  []json.RawMessage      `json:"data"`
			Error *struct{ Name string } `json:"error"`
		}
		raw, _ := io.ReadAll(res.Body)
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("%q: %d %s", query, res.StatusCode, raw)
		}
		switch {
		case res.StatusCode == 200 && body.Data != nil:
		case res.StatusCode == 400 && body.Error != nil && body.Error.Name == "ValidationError":
		default:
			t.Fatalf("%q: %d %s", query, res.StatusCode, raw)
		}
	})
}
