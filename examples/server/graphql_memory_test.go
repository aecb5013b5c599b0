package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// measureEnv turns on the tests that measure a server process: its
// resident memory (TestGraphQLMemory) and its login latency
// (TestLoginLatency). Run them without -race, which multiplies memory and
// time:
//
//	APITOKEN_MEASURE=1 go test -count=1 -v -run 'TestGraphQLMemory|TestLoginLatency' ./examples/server
const measureEnv = "APITOKEN_MEASURE"

// fragmentQuery is an aliased-fields attack: n aliases of the articles list,
// each spreading a fragment of fields aliased fields.
func fragmentQuery(n, fields int) string {
	var b strings.Builder
	b.WriteString("fragment F on Article{")
	names := []string{"documentId", "title", "createdAt", "updatedAt", "publishedAt"}
	for i := range fields {
		fmt.Fprintf(&b, " f%d:%s", i, names[i%len(names)])
	}
	b.WriteString("}{")
	for i := range n {
		fmt.Fprintf(&b, "a%d:articles{...F} ", i)
	}
	b.WriteString("}")
	return b.String()
}

// aliasQuery asks for field of every article under n aliases.
func aliasQuery(n int, field string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, " a%d: articles { %s }", i, field)
	}
	b.WriteString(" }")
	return b.String()
}

// memory returns a process's resident memory now and at its peak, in bytes,
// from /proc.
func memory(t *testing.T, pid int) (rss, peak int64) {
	t.Helper()
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			peak = n << 10
		}
	}
	return rss, peak
}

// resetPeak sets a process's peak resident memory (VmHWM) to its resident
// memory now, so that the next peak is the next query's.
func resetPeak(t *testing.T, pid int) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join("/proc", strconv.Itoa(pid), "clear_refs"), []byte("5"), 0))
}

// TestGraphQLMemory sends the amplification queries of the issue to a server
// process, and reports the response sizes and how much its resident memory
// grew: less than 50 MB.
func TestGraphQLMemory(t *testing.T) {
	if os.Getenv(measureEnv) == "" {
		t.Skip("set " + measureEnv + "=1 to measure (without -race)")
	}
	s := startChild(t, filepath.Join(t.TempDir(), "rss.db"))
	_, full, err := s.post("/api-tokens", `{"name":"full","type":"full-access"}`)
	require.NoError(t, err)
	_, ro, err := s.post("/api-tokens", `{"name":"reader","type":"read-only"}`)
	require.NoError(t, err)
	fullKey, roKey := full["accessKey"].(string), ro["accessKey"].(string)

	send := func(method, path, key string, body []byte) (int, int64, time.Duration) {
		req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		res, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		n, _ := io.Copy(io.Discard, res.Body)
		return res.StatusCode, n, time.Since(start)
	}
	gql := func(query string) []byte {
		b, _ := json.Marshal(map[string]string{"query": query})
		return b
	}
	// base is the resident memory before the queries, with the articles.
	base, _ := memory(t, s.cmd.Process.Pid)
	attack := func(name string, body []byte) {
		resetPeak(t, s.cmd.Process.Pid)
		status, n, took := send("POST", "/graphql", roKey, body)
		rss, peak := memory(t, s.cmd.Process.Pid)
		t.Logf("%s: query %.1f KB → HTTP %d, %.1f KB in %v; RSS %.0f MB, peak %.0f MB: +%.0f MB",
			name, float64(len(body))/1e3, status, float64(n)/1e3, took.Round(time.Millisecond), float64(rss)/1e6, float64(peak)/1e6, float64(peak-base)/1e6)
		assert.Less(t, peak-base, int64(50e6), "%s: resident memory grew by %.0f MB", name, float64(peak-base)/1e6)
	}
	attack("650 aliases × 100-field fragment, 2 articles", gql(fragmentQuery(650, 100)))

	big := strings.Repeat("x", 64<<10)
	for i := range 18 {
		body, _ := json.Marshal(map[string]any{"data": map[string]string{"title": fmt.Sprint("big ", i), "body": big}})
		status, _, _ := send("POST", "/api/articles", fullKey, body)
		require.Equal(t, http.StatusCreated, status)
	}
	base, _ = memory(t, s.cmd.Process.Pid)
	attack("200 aliases × body, 20 articles (18 of 64 KB)", gql(aliasQuery(200, "body")))
	attack("650 aliases × 100-field fragment, 20 articles", gql(fragmentQuery(650, 100)))
	attack("20 aliases × body, 20 articles (within the cost, over the response cap)", gql(aliasQuery(20, "body")))
	attack("1 alias × body, 20 articles (under the cap)", gql(aliasQuery(1, "body")))
	// Many at once: at most maxConcurrentQueries run, the others wait.
	var wg sync.WaitGroup
	resetPeak(t, s.cmd.Process.Pid)
	for range 16 {
		wg.Go(func() { send("POST", "/graphql", roKey, gql(aliasQuery(20, "body"))) })
	}
	wg.Wait()
	rss, peak := memory(t, s.cmd.Process.Pid)
	t.Logf("16 at once of 20 aliases × body: RSS %.0f MB, peak %.0f MB: +%.0f MB", float64(rss)/1e6, float64(peak)/1e6, float64(peak-base)/1e6)
	assert.Less(t, peak-base, int64(50e6), "16 at once: resident memory grew by %.0f MB", float64(peak-base)/1e6)
	status, n, took := send("POST", "/graphql", roKey, gql(`{ articles { documentId title body createdAt } }`))
	t.Logf("ordinary query over 20 articles: HTTP %d, %.2f MB in %v", status, float64(n)/1e6, took.Round(time.Millisecond))
	assert.Equal(t, http.StatusOK, status)
}
