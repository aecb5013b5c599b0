package main

// Holes found by a hostile review of the demo server (attack16). Each test
// fails on the code it was written against because of the hole it names;
// none of them fixes anything.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken/apitokentest"
)

// attackServer starts the demo with the admin login of the other tests and
// the server's default failure limit.
func attackServer(t *testing.T) *testServer {
	t.Helper()
	return startServer(t, filepath.Join(t.TempDir(), "attack.db"),
		map[string]string{"ADMIN_EMAIL": adminEmail, "ADMIN_PASSWORD": adminPassword}, defaultLimit)
}

// gqlBody is a GraphQL request body.
func gqlBody(t *testing.T, query string, variables map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	require.NoError(t, err)
	return string(b)
}

// decodeGQL decodes a GraphQL response, or fails the test.
func decodeGQL(t *testing.T, body string) gqlResponse {
	t.Helper()
	var v gqlResponse
	require.NoError(t, json.Unmarshal([]byte(body), &v), "%.200s", body)
	return v
}

// TestAttack16GraphQLOverlapValidationMemory: the cost model counts a
// spread of a one-field fragment as 1, so 4,000 spreads in a 16 KB query
// pass (cost 4,000). graph-gophers then validates overlapping fields
// between every pair of spreads (no OverlapValidationLimit is set): n²/2
// pairs, each remembered in a map. With a read-only key, 4,000 spreads took
// 11 s of CPU and grew the server's RSS by 990 MB (two at once: ~2 GB).
// This test sends 1,000 (half a million pairs) and measures what the
// process allocates while answering it.
func TestAttack16GraphQLOverlapValidationMemory(t *testing.T) {
	// Not parallel: it measures the process's allocations.
	s := attackServer(t)
	_, key := s.createToken(t, `{"name":"reader","type":"read-only"}`)
	query := "{" + strings.Repeat("...F", 1000) + "} fragment F on Query { __typename }"
	require.Less(t, len(query), maxQueryLength)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := s.do(t, "POST", "/graphql", gqlBody(t, query, nil), bearer(key))
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc

	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Less(t, allocated, uint64(50<<20),
		"a 4 KB query with a read-only key allocated %d MB (the issue's target: under 50 MB); answered %.100s",
		allocated>>20, r.body)
}

// TestAttack16GraphQLIntrospectionPassesResponseCap: the response cap
// charges only the article fields' strings; introspection's strings are
// free. A fragment of 99 aliases of __Type's 560-byte description, spread
// in 99 aliases of __type (cost 9,999), returns 5.2 MB from a 4.7 KB query
// with a read-only key: 2.5 times the 2 MiB that README says is refused
// whole.
func TestAttack16GraphQLIntrospectionPassesResponseCap(t *testing.T) {
	t.Parallel()
	s := attackServer(t)
	_, key := s.createToken(t, `{"name":"reader","type":"read-only"}`)
	var q strings.Builder
	q.WriteString("{")
	for i := range 99 {
		fmt.Fprintf(&q, `t%d:__type(name:"__Type"){...F} `, i)
	}
	q.WriteString("} fragment F on __Type {")
	for i := range 99 {
		fmt.Fprintf(&q, " d%d:description", i)
	}
	q.WriteString(" }")

	r := s.do(t, "POST", "/graphql", gqlBody(t, q.String(), nil), bearer(key))
	require.Equal(t, http.StatusOK, r.status)
	v := decodeGQL(t, r.body)
	if v.code() != "RESPONSE_TOO_LARGE" {
		assert.LessOrEqual(t, len(r.body), maxResponseBytes,
			"a %d-byte introspection query answered %d bytes, past the %d-byte cap", q.Len(), len(r.body), maxResponseBytes)
	}
}

// TestAttack16GraphQLEchoedIDPassesResponseCap: deleteArticle answers the
// documentId it was given, which no budget charges and the cost model
// counts as 8 bytes. One variable of 1 MB echoed by 300 aliases answered
// 300 MB and grew the server's RSS to 1.5 GB. A key with the delete action
// suffices (a full-access key has it). This test echoes 64 KB 100 times:
// 6.5 MB.
func TestAttack16GraphQLEchoedIDPassesResponseCap(t *testing.T) {
	t.Parallel()
	s := attackServer(t)
	_, key := s.createToken(t, `{"name":"writer","type":"full-access"}`)
	var q strings.Builder
	q.WriteString("mutation($i: ID!) {")
	for i := range 100 {
		fmt.Fprintf(&q, " d%d:deleteArticle(documentId:$i){documentId}", i)
	}
	q.WriteString(" }")

	r := s.do(t, "POST", "/graphql", gqlBody(t, q.String(), map[string]any{"i": strings.Repeat("x", 64<<10)}), bearer(key))
	require.Equal(t, http.StatusOK, r.status)
	v := decodeGQL(t, r.body)
	if v.code() != "RESPONSE_TOO_LARGE" {
		assert.LessOrEqual(t, len(r.body), maxResponseBytes,
			"a %d-byte request answered %d bytes, past the %d-byte cap", q.Len()+64<<10, len(r.body), maxResponseBytes)
	}
}

// TestAttack16GraphQLSlowReadersHoldQuerySlots: a query keeps its slot
// (maxConcurrentQueries, 2) until its response is written, and writing
// waits for the client, for up to WriteTimeout (30 s). Two connections
// that send a query with a large answer and stop reading hold both slots:
// every other GraphQL client waits queryWait (5 s) and gets 503, for as
// long as the attacker repeats. With a read-only key the 5.2 MB
// introspection answer of the test above does it on the seeded data; here
// the answers are 1.9 MB of article bodies, within the cap.
func TestAttack16GraphQLSlowReadersHoldQuerySlots(t *testing.T) {
	t.Parallel()
	s := attackServer(t)
	_, writer := s.createToken(t, `{"name":"writer","type":"full-access"}`)
	_, reader := s.createToken(t, `{"name":"reader","type":"read-only"}`)
	r := s.do(t, "POST", "/api/articles", `{"data":{"title":"markup","body":"`+strings.Repeat("<", 64<<10)+`"}}`, bearer(writer))
	require.Equal(t, http.StatusCreated, r.status, r.body)
	var created struct{ Data struct{ DocumentID string } }
	require.NoError(t, json.Unmarshal([]byte(r.body), &created))
	var q strings.Builder
	q.WriteString("{")
	for i := range 5 { // 5 × 64 Ki × 6 bytes: 1.97 MB, under the cap
		fmt.Fprintf(&q, " a%d:article(documentId:%q){body}", i, created.Data.DocumentID)
	}
	q.WriteString(" }")
	body := gqlBody(t, q.String(), nil)

	// A small receive buffer, set before connecting so that the window is
	// small from the start: the answer cannot all sit in the kernel.
	slow := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
		return err
	}}
	for range maxConcurrentQueries {
		c, err := slow.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		_, err = fmt.Fprintf(c, "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", reader, len(body), body)
		require.NoError(t, err)
		// The status line shows that the query ran and its answer is
		// being written; then this client stops reading.
		line, err := bufio.NewReaderSize(c, 16).ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "HTTP/1.1 200 OK\r\n", line)
	}

	start := time.Now()
	r = s.do(t, "POST", "/graphql", gqlBody(t, "{ articles { documentId } }", nil), bearer(reader))
	assert.Equal(t, http.StatusOK, r.status, "after %v: %s", time.Since(start).Round(time.Millisecond), r.body)
}

// TestAttack16AnonymousRequestsLockOutNewKeys: the failure limit, on by
// default, counts requests that present no key at all. Any web page the
// developer opens can send those to a local demo (an <img> of
// http://127.0.0.1:1337/api/articles: a GET with no Authorization, which
// the Host check allows), and ten a minute lock every local client out of
// the content API and GraphQL, except for keys the server verified since
// it started: a token just made in the admin screen, or any token after a
// restart, gets 429. Such requests guess nothing and cost no HMAC or
// lookup, which is what the limit is for.
func TestAttack16AnonymousRequestsLockOutNewKeys(t *testing.T) {
	t.Parallel()
	s := attackServer(t)
	for range 10 {
		r := s.do(t, "GET", "/api/articles", "", "Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: no-cors", "Sec-Fetch-Dest: image")
		require.Equal(t, http.StatusUnauthorized, r.status, r.body)
	}
	_, key := s.createToken(t, `{"name":"reader","type":"read-only"}`)
	r := s.do(t, "GET", "/api/articles", "", bearer(key))
	assert.Equal(t, http.StatusOK, r.status, "a new key after ten requests without any: %s", r.body)
	r = s.do(t, "POST", "/graphql", gqlBody(t, "{ articles { documentId } }", nil), bearer(key))
	assert.Equal(t, http.StatusOK, r.status, "GraphQL: %s", r.body)
}

// TestAttack16AdminLockedOutByOneGuessAMinute: the email's limit (5 per 5
// minutes, whatever the address) lets one address that sends one wrong
// password a minute for the administrator's email (admin@example.com when
// generated) keep the administrator out of every address that has not
// logged in since the server started, which after a restart is all of
// them, by the form and by Basic auth alike. Strapi keys its admin limit on
// email, path and address together, so an attacker only throttles
// themselves there. (TestLoginThrottled asserts this lockout as intended;
// this test says it should not be.)
func TestAttack16AdminLockedOutByOneGuessAMinute(t *testing.T) {
	t.Parallel()
	_, h, clk := testAuth(t)
	const attacker, admin = "203.0.113.66", "192.0.2.10"
	for i := range loginAttempts {
		w := serve(h, loginForm(adminEmail, fmt.Sprint("guess ", i)), attacker)
		require.Equal(t, http.StatusUnauthorized, w.Code)
	}
	in := 0
	for minute := range 60 {
		clk.Add(time.Minute)
		w := serve(h, loginForm(adminEmail, fmt.Sprint("guess at minute ", minute)), attacker)
		require.Equal(t, http.StatusUnauthorized, w.Code, "the attacker's one guess a minute is within its address's limit")
		if serve(h, loginForm(adminEmail, adminPassword), admin).Code == http.StatusSeeOther ||
			serve(h, basicRequest(adminEmail, adminPassword), admin).Code == http.StatusOK {
			in++
		}
	}
	assert.NotZero(t, in, "in an hour of one wrong guess a minute from another address, the administrator never got in")
}

// TestAttack16EncodedAdminPrefixPlain404: "/adm%69n/…" routes to /admin/
// (the mux matches the decoded path) but http.StripPrefix compares the raw
// path, finds no "/admin" and answers net/http's plain-text 404, not
// Strapi's error body.
func TestAttack16EncodedAdminPrefixPlain404(t *testing.T) {
	t.Parallel()
	s := attackServer(t)
	for _, path := range []string{"/adm%69n/api-tokens", "/%61dmin/api-tokens"} {
		r := s.admin(t, "GET", path, "")
		assert.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"), "%s: %d %q", path, r.status, r.body)
	}
}

// TestAttack16ContentMemoryUnbounded: the collections bound documents
// (10,000) and characters (a body of 65,536), not bytes: a body of 65,536
// four-byte characters is 256 KiB, so a key that may create articles can
// make the process hold 2.6 GB. This test stops at 16 MiB, to stay quick
// under -race (each 256 KiB request is ~0.4 s there): raise the budget if
// a fix bounds the bytes at more than that.
func TestAttack16ContentMemoryUnbounded(t *testing.T) {
	t.Parallel()
	s := attackServer(t)
	_, key := s.createToken(t, `{"name":"writer","type":"full-access"}`)
	body := `{"data":{"title":"wide","body":"` + strings.Repeat("\U0001D11E", 64<<10) + `"}}`
	const budget = 16 << 20
	stored := 0
	for stored <= budget {
		r := s.do(t, "POST", "/api/articles", body, bearer(key))
		if r.status != http.StatusCreated {
			break
		}
		stored += 4 * 64 << 10
	}
	assert.LessOrEqual(t, stored, budget, "one key stored %d MiB of article bodies, and could go on to 10,000 documents", stored>>20)
}

// TestAttack16ThrottleEvictionResetsEmailLimit: when the email table is
// full of emails with attempts taken (maxThrottled), an arbitrary tenth is
// forgotten, the administrator's among them one time in ten, and a
// forgotten email has all its attempts again. An attacker with many
// addresses (IPv6 counts per /64: one /48 holds 65,536) spends a thousand
// junk attempts per eviction and gets the administrator's five back about
// one eviction in ten: here 110,000 attempts give some 75 guesses of the
// administrator's password at once, not 5 (each address is used once; at
// five attempts each, 22,000 addresses would do). It runs on the limiter alone:
// over HTTP each attempt is a bcrypt check.
func TestAttack16ThrottleEvictionResetsEmailLimit(t *testing.T) {
	t.Parallel()
	clk := apitokentest.NewClock()
	l := newLoginLimiter(clk.Now)
	addr := 0
	next := func() string { addr++; return fmt.Sprintf("2001:db8:%x:%x::/64", addr>>16, addr&0xffff) }
	guesses := 0
	guess := func() {
		for {
			release, wait := l.reserve(next(), adminEmail)
			if wait > 0 {
				return
			}
			release(false)
			guesses++
		}
	}
	junk := 0
	attempt := func() {
		release, wait := l.reserve(next(), fmt.Sprint("junk", junk, "@example.com"))
		junk++
		if wait == 0 {
			release(false)
		}
	}
	guess()
	for range maxThrottled {
		attempt()
	}
	for range 100 { // each round refills the table and forgets a tenth
		guess()
		for range maxThrottled/10 + 1 {
			attempt()
		}
	}
	assert.LessOrEqual(t, guesses, emailAttempts, "guesses of the administrator's password in no time, from %d addresses", addr)
}
