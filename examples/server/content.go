package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The demo's content lives in memory: it is seeded at start and lost at
// exit. Tokens, which are what the demo is about, live in the database.

// Limits on content, so that a token holder cannot exhaust memory.
const (
	maxBodyBytes = 1 << 20 // request bodies of the content API and GraphQL
	maxDocuments = 10000   // per collection
	// maxContentBytes bounds the bytes of the attribute values a
	// collection holds. Fields are bounded in characters, as Strapi's
	// maxLength is, and a character may take four bytes: without it, a
	// key that may create articles could make the process hold 10,000
	// bodies of 256 KiB, 2.6 GB.
	maxContentBytes = 8 << 20
	maxPageSize     = 100
)

// field is an attribute of a collection type. All are strings.
type field struct {
	name     string
	required bool
	maxLen   int // in characters
}

// document is one entry of a collection, in Strapi v5's shape.
type document struct {
	ID          int
	DocumentID  string
	Attrs       map[string]string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	PublishedAt time.Time
}

// collection is an in-memory collection type. It is safe for concurrent use.
type collection struct {
	fields []field

	mu     sync.RWMutex
	docs   []*document // by ID
	nextID int
	bytes  int // of the attribute values in docs, at most maxContentBytes
}

func newCollection(fields ...field) *collection { return &collection{fields: fields, nextID: 1} }

// list returns one page of documents, by id, and the total.
func (c *collection) list(page, size int) ([]document, int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	total := len(c.docs)
	start := min((page-1)*size, total)
	end := min(start+size, total)
	out := make([]document, 0, end-start)
	for _, d := range c.docs[start:end] {
		out = append(out, d.copy())
	}
	return out, total
}

func (c *collection) get(id string) (document, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if d := c.find(id); d != nil {
		return d.copy(), true
	}
	return document{}, false
}

var (
	errFull      = fmt.Errorf("the demo keeps at most %d documents per collection", maxDocuments)
	errFullBytes = fmt.Errorf("the demo keeps at most %d MiB of content per collection", maxContentBytes>>20)
)

// size is the bytes of attrs' values.
func size(attrs map[string]string) int {
	n := 0
	for _, v := range attrs {
		n += len(v)
	}
	return n
}

func (c *collection) create(attrs map[string]string) (document, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.docs) >= maxDocuments {
		return document{}, errFull
	}
	n := size(attrs)
	if c.bytes+n > maxContentBytes {
		return document{}, errFullBytes
	}
	c.bytes += n
	now := time.Now().UTC().Truncate(time.Millisecond)
	d := &document{ID: c.nextID, DocumentID: newDocumentID(), Attrs: attrs, CreatedAt: now, UpdatedAt: now, PublishedAt: now}
	c.nextID++
	c.docs = append(c.docs, d)
	return d.copy(), nil
}

// update sets the given attributes of the document; false if there is
// none, errFullBytes if the collection cannot hold them.
func (c *collection) update(id string, attrs map[string]string) (document, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.find(id)
	if d == nil {
		return document{}, false, nil
	}
	grow := 0
	for k, v := range attrs {
		grow += len(v) - len(d.Attrs[k])
	}
	if grow > 0 && c.bytes+grow > maxContentBytes {
		return document{}, true, errFullBytes
	}
	c.bytes += grow
	for k, v := range attrs {
		d.Attrs[k] = v
	}
	d.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
	return d.copy(), true, nil
}

// remove deletes the document, if there is one, and reports whether there was.
func (c *collection) remove(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.IndexFunc(c.docs, func(d *document) bool { return d.DocumentID == id })
	if i < 0 {
		return false
	}
	c.bytes -= size(c.docs[i].Attrs)
	c.docs = slices.Delete(c.docs, i, i+1)
	return true
}

func (c *collection) find(id string) *document {
	for _, d := range c.docs {
		if d.DocumentID == id {
			return d
		}
	}
	return nil
}

func (d *document) copy() document {
	c := *d
	c.Attrs = make(map[string]string, len(d.Attrs))
	for k, v := range d.Attrs {
		c.Attrs[k] = v
	}
	return c
}

// newDocumentID returns 24 random lower-case letters and digits, the form of
// Strapi v5's documentId.
func newDocumentID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 24)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// inputError is a refused attribute, answered as Strapi's ValidationError.
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

// validate checks the attributes of a create (all required ones present) or
// an update (only known ones), and returns them as strings.
func (c *collection) validate(data map[string]json.RawMessage, create bool) (map[string]string, error) {
	attrs := make(map[string]string, len(data))
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		i := slices.IndexFunc(c.fields, func(f field) bool { return f.name == k })
		if i < 0 {
			return nil, &inputError{"Invalid key " + truncate(k, 60)}
		}
		f := c.fields[i]
		var s *string
		if err := json.Unmarshal(data[k], &s); err != nil {
			return nil, &inputError{f.name + " must be a `string` type"}
		}
		switch {
		case s == nil && f.required:
			return nil, &inputError{f.name + " must be defined."}
		case s == nil:
			attrs[k] = ""
		case !utf8.ValidString(*s):
			return nil, &inputError{f.name + " must be valid UTF-8"}
		case utf8.RuneCountInString(*s) > f.maxLen:
			return nil, &inputError{fmt.Sprintf("%s must be at most %d characters", f.name, f.maxLen)}
		case f.required && *s == "":
			return nil, &inputError{f.name + " must be defined."}
		default:
			attrs[k] = *s
		}
	}
	if create {
		for _, f := range c.fields {
			if _, ok := attrs[f.name]; !ok {
				if f.required {
					return nil, &inputError{f.name + " must be defined."}
				}
				attrs[f.name] = ""
			}
		}
	}
	return attrs, nil
}

// marshal writes d as Strapi v5 does: id, documentId, the attributes,
// then the times.
func (c *collection) marshal(d document) json.RawMessage {
	var b bytes.Buffer
	b.WriteString(`{"id":`)
	b.WriteString(strconv.Itoa(d.ID))
	b.WriteString(`,"documentId":`)
	writeJSONString(&b, d.DocumentID)
	for _, f := range c.fields {
		b.WriteString(",")
		writeJSONString(&b, f.name)
		b.WriteString(":")
		writeJSONString(&b, d.Attrs[f.name])
	}
	for _, t := range []struct {
		name string
		at   time.Time
	}{{"createdAt", d.CreatedAt}, {"updatedAt", d.UpdatedAt}, {"publishedAt", d.PublishedAt}} {
		fmt.Fprintf(&b, `,"%s":"%s"`, t.name, t.at.Format(jsTime))
	}
	b.WriteString("}")
	return b.Bytes()
}

// jsTime is JavaScript's Date.toISOString form, which Strapi sends.
const jsTime = "2006-01-02T15:04:05.000Z07:00"

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}

// restHandlers returns the REST handlers of c in Strapi v5's shapes.
func restHandlers(c *collection) (find, findOne, create, update, remove http.Handler) {
	find = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, size, err := pagination(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, "ValidationError", err.Error())
			return
		}
		docs, total := c.list(page, size)
		data := make([]json.RawMessage, len(docs))
		for i, d := range docs {
			data[i] = c.marshal(d)
		}
		pageCount := (total + size - 1) / size
		type pages struct {
			Page      int `json:"page"`
			PageSize  int `json:"pageSize"`
			PageCount int `json:"pageCount"`
			Total     int `json:"total"`
		}
		type meta struct {
			Pagination pages `json:"pagination"`
		}
		writeJSON(w, http.StatusOK, struct {
			Data []json.RawMessage `json:"data"`
			Meta meta              `json:"meta"`
		}{data, meta{pages{page, size, pageCount, total}}})
	})
	findOne = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := c.get(r.PathValue("id"))
		if !ok {
			writeError(w, http.StatusNotFound, "NotFoundError", "Not Found")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": c.marshal(d), "meta": struct{}{}})
	})
	create = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attrs, ok := c.readAttrs(w, r, true)
		if !ok {
			return
		}
		d, err := c.create(attrs)
		if err != nil {
			writeError(w, http.StatusBadRequest, "ApplicationError", err.Error())
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"data": c.marshal(d), "meta": struct{}{}})
	})
	update = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if _, ok := c.get(id); !ok {
			writeError(w, http.StatusNotFound, "NotFoundError", "Not Found")
			return
		}
		attrs, ok := c.readAttrs(w, r, false)
		if !ok {
			return
		}
		d, ok, err := c.update(id, attrs)
		if !ok { // deleted meanwhile
			writeError(w, http.StatusNotFound, "NotFoundError", "Not Found")
			return
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "ApplicationError", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": c.marshal(d), "meta": struct{}{}})
	})
	remove = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Strapi 5 answers 204 whether or not the document existed.
		c.remove(r.PathValue("id"))
		w.WriteHeader(http.StatusNoContent)
	})
	return find, findOne, create, update, remove
}

// pagination reads Strapi's pagination[page] and pagination[pageSize].
func pagination(r *http.Request) (page, size int, err error) {
	page, size = 1, 25
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		v    *int
		max  int
	}{{"pagination[page]", &page, 1 << 30}, {"pagination[pageSize]", &size, maxPageSize}} {
		s := q.Get(p.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > p.max {
			return 0, 0, fmt.Errorf("Invalid %s: want a whole number from 1 to %d", p.name, p.max)
		}
		*p.v = n
	}
	return page, size, nil
}

// readAttrs reads the body's data and validates it as c.validate does for a
// create or an update; when it cannot, it answers the request itself.
func (c *collection) readAttrs(w http.ResponseWriter, r *http.Request, create bool) (map[string]string, bool) {
	data, ok := readData(w, r)
	if !ok {
		return nil, false
	}
	attrs, err := c.validate(data, create)
	if err != nil {
		writeError(w, http.StatusBadRequest, "ValidationError", err.Error())
		return nil, false
	}
	return attrs, true
}

// readData reads a body of the form {"data":{…}}, at most maxBodyBytes, and
// answers the request itself when it cannot.
func readData(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	// Strapi parses a body by its Content-Type: text or a form is not
	// JSON, and so has no "data" object.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		writeError(w, http.StatusBadRequest, "ValidationError", `Missing "data" payload in the request body`)
		return nil, false
	}
	var body map[string]json.RawMessage
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	err := dec.Decode(&body)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeError", "request entity too large")
		return nil, false
	case err != nil && !errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "BadRequestError", "Invalid JSON body")
		return nil, false
	}
	var data map[string]json.RawMessage
	if raw, ok := body["data"]; !ok || json.Unmarshal(raw, &data) != nil || data == nil {
		writeError(w, http.StatusBadRequest, "ValidationError", `Missing "data" payload in the request body`)
		return nil, false
	}
	return data, true
}

// writeError writes Strapi's error body.
func writeError(w http.ResponseWriter, status int, name, msg string) {
	type body struct {
		Status  int      `json:"status"`
		Name    string   `json:"name"`
		Message string   `json:"message"`
		Details struct{} `json:"details"`
	}
	writeJSON(w, status, struct {
		Data  any  `json:"data"`
		Error body `json:"error"`
	}{nil, body{Status: status, Name: name, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"data":null,"error":{"status":500,"name":"InternalServerError","message":"Internal Server Error","details":{}}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
