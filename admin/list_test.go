package admin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/admin"
	"github.com/go-apitoken/apitoken/apitokentest"
)

type page struct {
	Data []apitoken.Token `json:"data"`
	Meta *struct {
		Pagination struct {
			Page, PageSize, PageCount, Total int
		} `json:"pagination"`
	} `json:"meta"`
}

func (e *env) list(query string) page {
	e.t.Helper()
	r := e.do("GET", "/api-tokens?"+query, "")
	require.Equal(e.t, 200, r.status, r.raw)
	var p page
	require.NoError(e.t, json.Unmarshal([]byte(r.raw), &p))
	return p
}

func names(p page) []string {
	out := []string{}
	for _, t := range p.Data {
		out = append(out, t.Name)
	}
	return out
}

// TestListPaging: 1,000 tokens, a page at a time; without page parameters
// the whole list comes as Strapi answers it, with no meta block.
func TestListPaging(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	ctx := t.Context()
	for i := range 1000 {
		_, _, err := e.svc.Create(ctx, apitoken.CreateParams{Name: fmt.Sprintf("token %04d", i)})
		require.NoError(t, err)
	}
	all := e.list("")
	assert.Len(t, all.Data, 1000)
	assert.Nil(t, all.Meta, "no meta without page parameters")
	assert.NotContains(t, e.do("GET", "/api-tokens", "").raw, `"meta"`)

	p := e.list("page=1&pageSize=100")
	require.NotNil(t, p.Meta)
	assert.Equal(t, 1000, p.Meta.Pagination.Total)
	assert.Equal(t, 10, p.Meta.Pagination.PageCount)
	assert.Len(t, p.Data, 100)
	assert.Equal(t, "token 0000", p.Data[0].Name)
	seen := map[string]bool{}
	for n := 1; n <= 10; n++ {
		for _, tok := range e.list(fmt.Sprintf("page=%d&pageSize=100", n)).Data {
			assert.False(t, seen[tok.ID], "token on two pages")
			seen[tok.ID] = true
		}
	}
	assert.Len(t, seen, 1000, "every token on some page")
	last := e.list("page=34&pageSize=30")
	assert.Len(t, last.Data, 10)
	assert.Equal(t, "token 0999", last.Data[9].Name)
	past := e.list("page=99&pageSize=30")
	assert.Empty(t, past.Data, "past the last page: empty, not an error")
	assert.Equal(t, 34, past.Meta.Pagination.PageCount)
	assert.Equal(t, "[]", string(mustRaw(t, e.do("GET", "/api-tokens?page=99&pageSize=30", "").Data)), "an empty page is [], not null")
	assert.Len(t, e.list("pageSize=7").Data, 7, "pageSize alone pages from page 1")
}

func mustRaw(t *testing.T, m json.RawMessage) json.RawMessage {
	t.Helper()
	require.NotNil(t, m)
	return m
}

// TestListFilterSort: search, type and expiry filters and each sort, on a
// clock the test moves.
func TestListFilterSort(t *testing.T) {
	clk := apitokentest.NewClock()
	e := newEnv(t, apitoken.Config{Clock: clk, Durations: []apitoken.Duration{apitoken.Duration(3 * 24 * time.Hour), apitoken.Days7, apitoken.Days30, apitoken.Unlimited}})
	ctx := t.Context()
	mk := func(name, desc string, typ apitoken.Type, life apitoken.Duration) *apitoken.Token {
		p := apitoken.CreateParams{Name: name, Description: desc, Type: typ, Lifespan: life}
		if typ == apitoken.Custom {
			p.Permissions = []string{"api::article.article.find"}
		}
		tok, _, err := e.svc.Create(ctx, p)
		require.NoError(t, err)
		clk.Add(time.Minute)
		return tok
	}
	mk("Beta", "nightly export", apitoken.ReadOnly, apitoken.Days30)
	mk("alpha", "CI deploys", apitoken.FullAccess, apitoken.Unlimited)
	mk("gamma", "short lived", apitoken.Custom, apitoken.Duration(3*24*time.Hour))
	mk("delta", "weekly", apitoken.ReadOnly, apitoken.Days7)
	clk.Add(6*24*time.Hour + 23*time.Hour) // gamma has expired; delta expires within the day
	used := mk("epsilon", "used once", apitoken.ReadOnly, apitoken.Days30)
	_, err := e.svc.Verify(ctx, mustKey(t, e, used.ID))
	require.NoError(t, err)
	require.NoError(t, e.svc.Flush(ctx))

	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"", []string{"alpha", "Beta", "delta", "epsilon", "gamma"}}, // by name, case aside
		{"sort=name:desc", []string{"gamma", "epsilon", "delta", "Beta", "alpha"}},
		{"sort=createdAt:desc", []string{"epsilon", "delta", "gamma", "alpha", "Beta"}},
		{"sort=createdAt", []string{"Beta", "alpha", "gamma", "delta", "epsilon"}},
		{"sort=expiresAt:asc", []string{"gamma", "delta", "Beta", "epsilon", "alpha"}},   // never last
		{"sort=expiresAt:desc", []string{"epsilon", "Beta", "delta", "gamma", "alpha"}},  // never still last
		{"sort=lastUsedAt:desc", []string{"epsilon", "alpha", "Beta", "delta", "gamma"}}, // never used last, A to Z
		{"q=EXPORT", []string{"Beta"}},
		{"q=a", []string{"alpha", "Beta", "delta", "gamma"}},
		{"q=" + url.QueryEscape("ci d"), []string{"alpha"}},
		{"type=read-only", []string{"Beta", "delta", "epsilon"}},
		{"status=expired", []string{"gamma"}},
		{"status=expiring", []string{"delta"}},
		{"status=active", []string{"alpha", "Beta", "delta", "epsilon"}},
		{"type=read-only&status=expiring&q=week", []string{"delta"}},
		{"q=nothing+like+it", []string{}},
	} {
		assert.Equal(t, tt.want, names(e.list(tt.query)), tt.query)
	}
}

// TestListIdle: idle=Nd lists the tokens unused for N days, never-used ones
// counting from their creation, and pages with the other filters.
func TestListIdle(t *testing.T) {
	clk := apitokentest.NewClock()
	e := newEnv(t, apitoken.Config{Clock: clk})
	ctx := t.Context()
	mk := func(name string, typ apitoken.Type) *apitoken.Token {
		tok, _, err := e.svc.Create(ctx, apitoken.CreateParams{Name: name, Type: typ})
		require.NoError(t, err)
		return tok
	}
	use := func(tok *apitoken.Token) {
		_, err := e.svc.Verify(ctx, mustKey(t, e, tok.ID))
		require.NoError(t, err)
		require.NoError(t, e.svc.Flush(ctx))
	}
	mk("ancient", apitoken.ReadOnly) // never used, created 400 days ago
	clk.Add(100 * 24 * time.Hour)
	for i := range 12 {
		mk(fmt.Sprintf("old %02d", i), apitoken.FullAccess) // never used, created 300 days ago
	}
	mk("was busy", apitoken.ReadOnly)
	clk.Add(200 * 24 * time.Hour)
	use(e.tokenNamed("was busy")) // last used 100 days ago
	clk.Add(60 * 24 * time.Hour)
	lately := mk("lately", apitoken.ReadOnly)
	use(lately)                  // created and used 40 days ago
	clk.Add(40*24*time.Hour - 1) // a moment short of 40 days since

	old := make([]string, 12)
	for i := range old {
		old[i] = fmt.Sprintf("old %02d", i)
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"idle=30d", append(append([]string{"ancient", "lately"}, old...), "was busy")},
		{"idle=40d", append(append([]string{"ancient"}, old...), "was busy")}, // lately: a moment short
		{"idle=90d", append(append([]string{"ancient"}, old...), "was busy")},
		{"idle=101d", append([]string{"ancient"}, old...)},
		{"idle=365d", []string{"ancient"}},
		{"idle=3650d", []string{}},
		{"idle=90d&type=read-only", []string{"ancient", "was busy"}},
		{"idle=90d&q=busy", []string{"was busy"}},
		{"idle=90d&sort=lastUsedAt:desc&type=read-only", []string{"was busy", "ancient"}},
	} {
		assert.Equal(t, tt.want, names(e.list(tt.query)), tt.query)
	}
	clk.Add(1)
	assert.Contains(t, names(e.list("idle=40d")), "lately", "40 days to the instant")

	// Paged: the filter applies before paging, so totals and pages agree.
	p := e.list("idle=90d&page=2&pageSize=5")
	require.NotNil(t, p.Meta)
	assert.Equal(t, 14, p.Meta.Pagination.Total)
	assert.Equal(t, 3, p.Meta.Pagination.PageCount)
	assert.Equal(t, old[4:9], names(p))
	assert.Equal(t, []string{"old 09", "old 10", "old 11", "was busy"}, names(e.list("idle=90d&page=3&pageSize=5")))
}

func (e *env) tokenNamed(name string) *apitoken.Token {
	e.t.Helper()
	list, err := e.svc.List(e.t.Context())
	require.NoError(e.t, err)
	for _, tok := range list {
		if tok.Name == name {
			return tok
		}
	}
	require.FailNow(e.t, "no token named "+name)
	return nil
}

func mustKey(t *testing.T, e *env, id string) string {
	t.Helper()
	r := e.do("POST", "/api-tokens/"+id+"/regenerate", "")
	require.Equal(t, 201, r.status, r.raw)
	var k struct{ AccessKey string }
	require.NoError(t, json.Unmarshal(r.Data, &k))
	return k.AccessKey
}

// TestListQueryRefused: malformed, oversized, repeated and unknown query
// parameters are refused with a 400 that names the parameter.
func TestListQueryRefused(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	for _, tt := range []struct{ query, param, msg string }{
		{"page=0", "page", "page must be a whole number from 1 to 1000000"},
		{"page=-1", "page", "whole number"},
		{"page=1e3", "page", "whole number"},
		{"page=99999999999999999999", "page", "whole number"},
		{"pageSize=101", "pageSize", "from 1 to 100"},
		{"pageSize=", "pageSize", "whole number"},
		{"sort=key_hash", "sort", "sort must be name"},
		{"sort=name:up", "sort", "asc or desc"},
		{"sort=name;drop", "", "malformed"},
		{"type=admin", "type", "read-only, full-access or custom"},
		{"status=soon", "status", "expired, expiring or active"},
		{"idle=90", "idle", "idle must be a number of days from 1 to 3650, such as 90d"},
		{"idle=0d", "idle", "from 1 to 3650"},
		{"idle=090d", "idle", "from 1 to 3650"},
		{"idle=-1d", "idle", "from 1 to 3650"},
		{"idle=%2B90d", "idle", "from 1 to 3650"},
		{"idle=3651d", "idle", "from 1 to 3650"},
		{"idle=99999999999999999999d", "idle", "from 1 to 3650"},
		{"idle=1e3d", "idle", "from 1 to 3650"},
		{"idle=90h", "idle", "from 1 to 3650"},
		{"idle=d", "idle", "from 1 to 3650"},
		{"idle=", "idle", "from 1 to 3650"},
		{"idle=%EF%BC%99%EF%BC%90d", "idle", "from 1 to 3650"}, // fullwidth digits
		{"idle=90d%00", "idle", "from 1 to 3650"},
		{"idle=" + strings.Repeat("9", 500) + "d", "idle", "from 1 to 3650"},
		{"idle=30d&idle=90d", "idle", "more than once"},
		{"Idle=90d", "Idle", "not a known query parameter"},
		{"q=" + strings.Repeat("x", 201), "q", "at most 200 characters"},
		{"q=%ff", "q", "valid text"},
		{"q=a&q=b", "q", "more than once"},
		{"filters[name]=x", "filters[name]", "not a known query parameter"},
		{"%zz", "", "malformed"},
		{"q=" + strings.Repeat("x", 3000), "", "too long"},
	} {
		r := e.do("GET", "/api-tokens?"+tt.query, "")
		require.Equal(t, 400, r.status, "%s: %s", tt.query, r.raw)
		require.NotNil(t, r.Error, tt.query)
		assert.Equal(t, "ValidationError", r.Error.Name, tt.query)
		assert.Contains(t, r.Error.Message, tt.msg, tt.query)
		if tt.param != "" {
			require.Len(t, r.Error.Details.Errors, 1, tt.query)
			assert.Equal(t, []string{tt.param}, r.Error.Details.Errors[0].Path, tt.query)
		}
	}
}

// TestKeyHintAndOverlap: the admin JSON carries the key's hint (never more
// of it) and, after a graceful regeneration, until when the old key works.
func TestKeyHintAndOverlap(t *testing.T) {
	clk := apitokentest.NewClock()
	e := newEnv(t, apitoken.Config{Clock: clk, KeyFormat: apitoken.PrefixedKeys, KeyPrefix: "demo"})
	c := e.create(`{"name":"hinted"}`)
	require.True(t, strings.HasPrefix(c.AccessKey, "demo_"))
	want := "demo_…" + c.AccessKey[len(c.AccessKey)-4:]
	assert.Equal(t, want, c.KeyHint, "create")
	assert.Equal(t, want, e.list("").Data[0].KeyHint, "list")
	r := e.do("GET", "/api-tokens/"+c.ID, "")
	assert.Contains(t, r.raw, `"keyHint":"`+want+`"`)
	assert.NotContains(t, r.raw, c.AccessKey[5:len(c.AccessKey)-4], "no more of the key")
	assert.NotContains(t, r.raw, "previousKeyExpiresAt", "no previous key")

	r = e.do("POST", "/api-tokens/"+c.ID+"/regenerate", `{"overlap":3600000}`)
	require.Equal(t, 201, r.status, r.raw)
	var regen created
	require.NoError(t, json.Unmarshal(r.Data, &regen))
	assert.Equal(t, c.ID, regen.ID)
	assert.Equal(t, "demo_…"+regen.AccessKey[len(regen.AccessKey)-4:], regen.KeyHint, "the new key's hint")
	require.NotNil(t, regen.PreviousKeyExpiresAt)
	assert.True(t, clk.Now().Add(time.Hour).Truncate(time.Millisecond).Equal(*regen.PreviousKeyExpiresAt))
	got := e.list("").Data[0]
	require.NotNil(t, got.PreviousKeyExpiresAt, "list says until when the old key works")
	clk.Add(time.Hour)
	assert.Nil(t, e.list("").Data[0].PreviousKeyExpiresAt, "not once that has passed")
	assert.NotContains(t, e.do("GET", "/api-tokens/"+c.ID, "").raw, "previousKeyExpiresAt")
}

// TestGetWithRecoverableKey: as in Strapi 5, reading one token includes its
// key when keys are recoverable, and only then; the list never does.
func TestGetWithRecoverableKey(t *testing.T) {
	e := newEnv(t, apitoken.Config{EncryptionKey: "admin-test-encryption-key-0123456789"})
	c := e.create(`{"name":"recoverable"}`)
	r := e.do("GET", "/api-tokens/"+c.ID, "")
	require.Equal(t, 200, r.status)
	var got created
	require.NoError(t, json.Unmarshal(r.Data, &got))
	assert.Equal(t, c.AccessKey, got.AccessKey)
	assert.NotEmpty(t, r.header.Get("ETag"))
	assert.NotContains(t, e.do("GET", "/api-tokens", "").raw, c.AccessKey, "never in the list")
	assert.NotContains(t, e.do("GET", "/api-tokens?page=1", "").raw, c.AccessKey)
	e.perms = []string{admin.PermAccess}
	assert.Equal(t, http.StatusForbidden, e.do("GET", "/api-tokens/"+c.ID, "").status, "read permission needed")

	plain := newEnv(t, apitoken.Config{})
	c = plain.create(`{"name":"hashed only"}`)
	r = plain.do("GET", "/api-tokens/"+c.ID, "")
	require.Equal(t, 200, r.status)
	assert.NotContains(t, r.raw, "accessKey", "no field without recoverable keys")
}

// TestSignInURLs: the screen links only to paths and http(s) URLs.
func TestSignInURLs(t *testing.T) {
	svc := apitokentest.New(t, apitoken.Config{Salt: salt})
	allow := func(*http.Request, string) error { return nil }
	for _, bad := range []string{"javascript:alert(1)", "//evil.example/login", "/\\evil.example", "login", "data:text/html,x",
		"/a\nb", "https://", "/" + strings.Repeat("a", 3000)} {
		_, err := admin.New(admin.Config{Service: svc, Authorize: allow, SignInURL: bad})
		assert.Error(t, err, "%q", bad)
		_, err = admin.New(admin.Config{Service: svc, Authorize: allow, SignOutURL: bad})
		assert.Error(t, err, "%q", bad)
	}
	h, err := admin.New(admin.Config{Service: svc, Authorize: allow, SignInURL: "/admin/login?next=a&b=\"c\"", SignOutURL: "https://id.example/logout"})
	require.NoError(t, err)
	srv := newServer(t, h)
	_, body := fetch(t, srv.URL+"/")
	assert.Contains(t, body, `data-sign-in="/admin/login?next=a&amp;b=&#34;c&#34;"`, "escaped")
	assert.Contains(t, body, `data-sign-out="https://id.example/logout"`)
	_, body = fetch(t, newServer(t, mustHandler(t, svc)).URL+"/")
	assert.NotContains(t, body, "data-sign-in")
}

func mustHandler(t *testing.T, svc *apitoken.Service) http.Handler {
	h, err := admin.New(admin.Config{Service: svc, Authorize: func(*http.Request, string) error { return nil }})
	require.NoError(t, err)
	return h
}
