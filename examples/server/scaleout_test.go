package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken/internal/testenv"
)

// The instances keep verified keys for a minute, so that only the
// database's change feed can make B refuse a key changed through A; feedBound
// is the loose bound this test holds it to (it polls every 250 ms;
// bench/cmd/propagate measures the real figures).
const (
	cacheTTL  = time.Minute
	feedBound = 3 * time.Second
)

// TestTwoInstances runs two server processes on one PostgreSQL under load:
// a token revoked or regenerated through one is refused by the other within
// feedBound, long before the cache TTL, and no request gets a status other
// than 200 before and 401 after.
func TestTwoInstances(t *testing.T) {
	dsn := testenv.DSN(t, testenv.PostgresEnv)
	dbURL := freshDatabase(t, dsn)
	bin := filepath.Join(t.TempDir(), "server")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run(), "go build")
	env := append(os.Environ(), "API_TOKEN_SALT=two-instances-salt-0123456789", "ADMIN_EMAIL="+adminEmail, "ADMIN_PASSWORD="+adminPassword)
	a := startProcess(t, bin, env, dbURL)
	b := startProcess(t, bin, env, dbURL)

	for _, change := range []string{"delete", "regenerate"} {
		t.Run(change, func(t *testing.T) {
			id, key := a.createToken(t, `{"name":"shared-`+change+`","type":"read-only"}`)
			// Both instances accept the key (B has it cached after this).
			for _, s := range []*testServer{a, b} {
				require.Equal(t, 200, getStatus(t, s.url+"/api/articles", key), "before the change")
			}
			var last atomic.Int64 // unix nanos when the last request B answered 200 was sent
			var unexpected atomic.Int64
			var firstRefusal atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						sent := time.Now().UnixNano()
						switch st := getStatus(t, b.url+"/api/articles", key); st {
						case 200:
							last.Store(max(last.Load(), sent)) // when the request was sent: one in flight may end late
						case 401:
							firstRefusal.CompareAndSwap(0, time.Now().UnixNano())
						default:
							unexpected.Add(1)
						}
					}
				}()
			}
			stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
			defer stopLoad()
			time.Sleep(200 * time.Millisecond)
			changed := time.Now()
			var r response
			if change == "delete" {
				r = a.admin(t, "DELETE", "/admin/api-tokens/"+id, "")
			} else {
				r = a.admin(t, "POST", "/admin/api-tokens/"+id+"/regenerate", "")
			}
			require.Contains(t, []int{200, 201}, r.status, "%s through A: %s", change, r.body)
			assert.Equal(t, 401, getStatus(t, a.url+"/api/articles", key), "A itself still accepts the old key")
			require.Eventually(t, func() bool { return firstRefusal.Load() != 0 }, feedBound, 10*time.Millisecond,
				"B still accepts the key %v after the change through A", feedBound)
			time.Sleep(300 * time.Millisecond) // more load: no 200 may follow the first 401
			stopLoad()

			assert.Zero(t, unexpected.Load(), "requests that got a status other than 200 or 401")
			require.NotZero(t, firstRefusal.Load(), "B never refused the old key")
			lastOK := time.Unix(0, last.Load())
			stale := lastOK.Sub(changed)
			t.Logf("%s: B accepted the old key for %v after the change through A (bound %v)", change, stale.Round(time.Millisecond), feedBound)
			assert.LessOrEqual(t, stale, feedBound, "B accepted the old key %v after the change", stale)
			assert.Less(t, lastOK.UnixNano(), firstRefusal.Load(), "B accepted a request sent after it had refused the old key")
		})
	}
}

// freshDatabase creates a PostgreSQL database for the test, dropped when
// it ends, and returns its postgres:// URL.
func freshDatabase(t *testing.T, dsn string) string {
	t.Helper()
	admin, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	b := make([]byte, 4)
	rand.Read(b)
	name := "apitoken_scaleout_" + hex.EncodeToString(b)
	_, err = admin.Exec("CREATE DATABASE " + name)
	require.NoError(t, err)
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		admin.Close()
	})
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

var listening = regexp.MustCompile(`listening url=(http://[0-9.:]+)`)

// startProcess runs the built server on a free port and waits until it
// listens; it is interrupted when the test ends.
func startProcess(t *testing.T, bin string, env []string, db string) *testServer {
	t.Helper()
	// Clients send revoked keys from this one address, and must see 401:
	// the default failure limit would answer 429 unchecked.
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-db", db, "-cache-ttl", cacheTTL.String(),
		"-salt-file", filepath.Join(t.TempDir(), "salt"), "-failure-limit", "off")
	cmd.Env = env
	cmd.Dir = t.TempDir() // the admin login file lands here
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case u := <-found:
		return &testServer{url: u}
	case <-time.After(30 * time.Second):
		require.FailNow(t, "the server did not start")
		return nil
	}
}

var loadClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

// getStatus sends an authenticated GET and returns its status, or 0 when it
// could not be sent. It reports with assert, not require: the load
// goroutines call it, and only the test's goroutine may stop the test.
func getStatus(t *testing.T, url, key string) int {
	req, err := http.NewRequestWithContext(context.Background(), "GET", url, nil)
	if !assert.NoError(t, err) {
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := loadClient.Do(req)
	if !assert.NoError(t, err) {
		return 0
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}
