// Package faulttest puts a TCP proxy between the library and a real
// PostgreSQL and MySQL, then cuts, stalls and resets the connections while
// requests and admin writes are under way. Verification must fail closed
// (503: "could not check" is not "invalid"), never let an unchecked key
// through, never panic or leak goroutines, and recover by itself; writes
// must leave nothing partial.
package faulttest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/admin"
	"github.com/go-apitoken/apitoken/internal/faultproxy"
	"github.com/go-apitoken/apitoken/internal/testenv"
	"github.com/go-apitoken/apitoken/sqlstore"
)

type engine struct {
	name    string
	dialect sqlstore.Dialect
	driver  string
	env     string
	// via rewrites a DSN to go through addr; it also returns the target.
	via func(t *testing.T, dsn, addr string) (proxied, target string)
}

var engines = []engine{
	{"postgres", sqlstore.Postgres, "pgx", testenv.PostgresEnv, viaPostgres},
	{"mysql", sqlstore.MySQL, "mysql", testenv.MySQLEnv, viaMySQL},
}

func viaPostgres(t *testing.T, dsn, addr string) (string, string) {
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	target := u.Host
	u.Host = addr
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	return u.String(), target
}

func init() {
	// The driver logs every reset connection; the test reports what matters.
	mysql.SetLogger(log.New(io.Discard, "", 0))
}

func viaMySQL(t *testing.T, dsn, addr string) (string, string) {
	cfg, err := mysql.ParseDSN(dsn)
	require.NoError(t, err)
	target := cfg.Addr
	cfg.Addr = addr
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = 2*time.Second, 2*time.Second, 2*time.Second
	return cfg.FormatDSN(), target
}

// rig is a server whose token store reaches its database through a proxy.
type rig struct {
	proxy  *faultproxy.Proxy
	direct *sql.DB // not through the proxy, to inspect what was written
	store  *sqlstore.Store
	svc    *apitoken.Service
	server *httptest.Server
	prefix string
}

const lookupTimeout = 300 * time.Millisecond

func newRig(t *testing.T, e engine) *rig {
	dsn := testenv.DSN(t, e.env)
	r := &rig{prefix: freshPrefix()}
	direct, err := sql.Open(e.driver, dsn)
	require.NoError(t, err)
	r.direct = direct
	_, target := e.via(t, dsn, "127.0.0.1:1")
	r.proxy, err = faultproxy.New(target)
	require.NoError(t, err)
	proxied, _ := e.via(t, dsn, r.proxy.Addr())
	db, err := sql.Open(e.driver, proxied)
	require.NoError(t, err)
	db.SetMaxOpenConns(8)
	db.SetConnMaxLifetime(time.Minute)

	r.store, err = sqlstore.New(db, sqlstore.Options{Dialect: e.dialect, TablePrefix: r.prefix})
	require.NoError(t, err)
	require.NoError(t, r.store.Migrate(context.Background()))
	r.svc, err = apitoken.New(apitoken.Config{
		Store: r.store, Salt: "fault-test-salt-0123456789", LookupTimeout: lookupTimeout, AnyAction: true,
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /api/articles", r.svc.Require("api::article.article.find")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})))
	adminHandler, err := admin.New(admin.Config{Service: r.svc, Logger: slog.New(slog.DiscardHandler), Timeout: 3 * lookupTimeout,
		Authorize: func(*http.Request, string) error { return nil }})
	require.NoError(t, err)
	mux.Handle("/admin/", http.StripPrefix("/admin", adminHandler))
	r.server = httptest.NewServer(mux)

	t.Cleanup(func() {
		r.server.Close()
		r.svc.Close(context.Background())
		db.Close()
		r.proxy.Close()
		for _, table := range []string{"permissions", "tokens", "changes", "notices", "migrations"} {
			direct.Exec("DROP TABLE IF EXISTS " + r.prefix + table)
		}
		if e.dialect == sqlstore.Postgres {
			direct.Exec("DROP FUNCTION IF EXISTS " + r.prefix + "tokens_changed()")
			direct.Exec("DROP FUNCTION IF EXISTS " + r.prefix + "permissions_changed()")
		}
		direct.Close()
	})
	return r
}

func freshPrefix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "f" + hex.EncodeToString(b) + "_"
}

// status sends an authenticated GET and returns its status.
func (r *rig) status(t *testing.T, key string) int {
	req, err := http.NewRequest("GET", r.server.URL+"/api/articles", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Do(req)
	require.NoError(t, err, "the server always answers")
	res.Body.Close()
	return res.StatusCode
}

// burst sends n concurrent requests with each key and returns the statuses
// seen per key.
func (r *rig) burst(t *testing.T, n int, keys ...string) map[string]map[int]int {
	var mu sync.Mutex
	seen := make(map[string]map[int]int)
	for _, k := range keys {
		seen[k] = make(map[int]int) // before any goroutine reads seen
	}
	var wg sync.WaitGroup
	for _, k := range keys {
		for range n {
			wg.Go(func() {
				s := r.status(t, k)
				mu.Lock()
				seen[k][s]++
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return seen
}

func TestFaults(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			t.Run("verify", func(t *testing.T) { testVerifyFaults(t, e) })
			t.Run("writes", func(t *testing.T) { testWriteFaults(t, e) })
			t.Run("admin", func(t *testing.T) { testAdminFaults(t, e) })
			assertNoLeak(t, before)
		})
	}
}

func testVerifyFaults(t *testing.T, e engine) {
	r := newRig(t, e)
	ctx := context.Background()
	_, valid, err := r.svc.Create(ctx, apitoken.CreateParams{Name: "reader"})
	require.NoError(t, err)
	unknown := strings.Repeat("0", 256)
	require.Equal(t, 200, r.status(t, valid))
	require.Equal(t, 401, r.status(t, unknown))

	// Never 200 for a key the store did not confirm, never 401 for a key
	// it could not check.
	check := func(phase string, seen map[string]map[int]int, validOK, unknownOK []int) {
		t.Helper()
		for s := range seen[valid] {
			assert.Contains(t, validOK, s, "%s: valid key got %d (%v)", phase, s, seen[valid])
		}
		for s := range seen[unknown] {
			assert.Contains(t, unknownOK, s, "%s: unknown key got %d (%v)", phase, s, seen[unknown])
		}
	}

	// The database goes down: open connections reset, new ones refused.
	r.proxy.SetMode(faultproxy.Refuse)
	r.proxy.Reset()
	check("down", r.burst(t, 10, valid, unknown), []int{503}, []int{503})

	// The database comes back: the pool recovers by itself.
	r.proxy.SetMode(faultproxy.Pass)
	// Recovered: a burst finds no connection of the pool still broken
	// (each one that fails is dropped from the pool).
	waitFor(t, "recovery after an outage", func() bool { return r.burst(t, 8, valid)[valid][200] == 8 })
	check("up", r.burst(t, 10, valid, unknown), []int{200}, []int{401})

	// The database hangs: requests are turned away after LookupTimeout.
	r.proxy.SetMode(faultproxy.Stall)
	start := time.Now()
	check("stalled", r.burst(t, 10, valid, unknown), []int{503}, []int{503})
	assert.Less(t, time.Since(start), 5*lookupTimeout+2*time.Second, "stalled requests are not held")
	r.proxy.SetMode(faultproxy.Pass)
	waitFor(t, "recovery after a stall", func() bool { return r.status(t, valid) == 200 })

	// Connections reset in the middle of traffic.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(15 * time.Millisecond):
				r.proxy.Reset()
			}
		}
	})
	seen := r.burst(t, 40, valid, unknown)
	close(stop)
	wg.Wait()
	check("resets", seen, []int{200, 503}, []int{401, 503})
	waitFor(t, "recovery after resets", func() bool { return r.status(t, valid) == 200 })
	t.Logf("%s under resets: valid %v, unknown %v", e.name, seen[valid], seen[unknown])
}

// testWriteFaults resets connections while custom tokens with many
// permissions are created and updated, then checks through a direct
// connection that every token has all of its permissions and no permission
// lacks its token.
func testWriteFaults(t *testing.T, e engine) {
	r := newRig(t, e)
	ctx := context.Background()
	perms := func(action string) []string {
		var p []string
		for i := range 40 {
			p = append(p, fmt.Sprintf("api::c%d.c.%s", i, action))
		}
		return p
	}
	failures := 0
	for i := range 30 {
		done := make(chan struct{})
		go func() {
			defer close(done)
			time.Sleep(time.Duration(i%6) * time.Millisecond)
			r.proxy.Reset()
		}()
		tok, _, err := r.svc.Create(ctx, apitoken.CreateParams{Name: fmt.Sprint("t", i), Type: apitoken.Custom, Permissions: perms("find")})
		if err != nil {
			failures++
		} else {
			_, err = r.svc.Update(ctx, tok.ID, apitoken.UpdateParams{Permissions: perms("create")})
			if err != nil {
				failures++
			}
		}
		<-done
	}
	t.Logf("%s: %d of 60 writes failed under resets", e.name, failures)

	rows, err := r.direct.Query(`SELECT t.id, COUNT(p.action), SUM(CASE WHEN p.action LIKE '%.find' THEN 1 ELSE 0 END)
		FROM ` + r.prefix + `tokens t LEFT JOIN ` + r.prefix + `permissions p ON p.token_id = t.id GROUP BY t.id`)
	require.NoError(t, err)
	defer rows.Close()
	tokens := 0
	for rows.Next() {
		var id string
		var n, finds int
		require.NoError(t, rows.Scan(&id, &n, &finds))
		tokens++
		assert.Equal(t, 40, n, "token %s has all its permissions", id)
		assert.True(t, finds == 0 || finds == 40, "token %s has one whole permission set, not a mix (%d of 40 are find)", id, finds)
	}
	require.NoError(t, rows.Err())
	var orphans int
	require.NoError(t, r.direct.QueryRow(`SELECT COUNT(*) FROM `+r.prefix+`permissions WHERE token_id NOT IN (SELECT id FROM `+r.prefix+`tokens)`).Scan(&orphans))
	assert.Zero(t, orphans, "no permission without its token")
	assert.Positive(t, tokens, "some creates got through")
}

// waitFor polls ok until it holds, failing t after 15s. It is not
// require.Eventually, which calls ok on another goroutine: ok sends requests
// whose helpers stop the test with require, which only the test's goroutine
// may do.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			require.FailNow(t, "timed out", "no %s within 15s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// assertNoLeak waits for the goroutines started since before to end.
func assertNoLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			require.FailNow(t, "goroutines leaked", "%d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:n])
		}
		time.Sleep(100 * time.Millisecond)
	}
}
