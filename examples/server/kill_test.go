package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// helperEnv carries the server's arguments to the child process that
// TestHelperServer becomes.
const helperEnv = "APITOKEN_TEST_SERVER_ARGS"

// TestHelperServer is not a test: run by TestKill9 in a child process, it is
// the demo server, so that the test can kill it with SIGKILL.
func TestHelperServer(t *testing.T) {
	args := os.Getenv(helperEnv)
	if args == "" {
		t.Skip("the child process of TestKill9")
	}
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := run(context.Background(), argv, os.Getenv, io.Discard, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// child is the demo server in a process of its own.
type child struct {
	cmd    *exec.Cmd
	url    string
	client *http.Client // signed in to the admin API
}

// startChild starts the demo server on db in a child process and signs in.
func startChild(t *testing.T, db string) *child {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	// The tests check that dead keys get 401, many from this one address:
	// the default failure limit would answer 429 unchecked.
	args, err := json.Marshal([]string{"-addr", addr, "-db", db, "-failure-limit", "off"})
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServer$")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(args), "API_TOKEN_SALT=kill-9-test-salt-0123456789",
		"ADMIN_EMAIL="+adminEmail, "ADMIN_PASSWORD="+adminPassword)
	cmd.Stderr = &strings.Builder{}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	c := &child{cmd: cmd, url: "http://" + addr}
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c.client = &http.Client{Jar: jar, Timeout: 10 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := c.client.PostForm(c.url+"/admin/login", url.Values{"email": {adminEmail}, "password": {adminPassword}})
		if err == nil {
			res.Body.Close()
			require.Equal(t, http.StatusOK, res.StatusCode, "sign in (after the redirect)")
			return c
		}
		require.True(t, time.Now().Before(deadline), "the server did not start: %v\n%s", err, cmd.Stderr)
		time.Sleep(20 * time.Millisecond) // waiting for another process to listen
	}
}

// post sends an admin API POST and returns the status and the body's data,
// or an error when no response came.
func (c *child) post(path, body string) (int, map[string]any, error) {
	res, err := c.client.Post(c.url+"/admin"+path, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	var v struct{ Data map[string]any }
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		return 0, nil, err
	}
	return res.StatusCode, v.Data, nil
}

// status sends a content API GET with key.
func (c *child) status(t *testing.T, key string) int {
	req, err := http.NewRequest("GET", c.url+"/api/articles", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := c.client.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

// TestKill9 kills the demo server with SIGKILL while admins create and
// regenerate tokens, starts it again on the same SQLite file, and checks
// that nothing acknowledged was lost: every token that was answered 201
// exists with its last acknowledged key, every key regenerated away stays
// dead, and the database passes SQLite's integrity check.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	db := filepath.Join(t.TempDir(), "killed.db")
	for round := range 4 {
		s := startChild(t, db)
		var (
			mu        sync.Mutex
			keys      = map[string]string{} // id → last acknowledged key
			uncertain = map[string]bool{}   // a regeneration got no answer
			busy      = map[string]bool{}   // being regenerated: one writer at a time
			dead      []string              // keys regenerated away, acknowledged
			acks      int
			killed    = make(chan struct{})
			once      sync.Once
			wg        sync.WaitGroup
		)
		kill := func() { once.Do(func() { s.cmd.Process.Kill(); close(killed) }) }
		for w := range 4 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-killed:
						return
					default:
					}
					mu.Lock()
					var id, old string
					for k, v := range keys {
						if i%3 == 2 && !uncertain[k] && !busy[k] {
							id, old = k, v
							busy[id] = true
							break
						}
					}
					mu.Unlock()
					var status int
					var data map[string]any
					var err error
					if id != "" {
						status, data, err = s.post("/api-tokens/"+id+"/regenerate", "")
					} else {
						status, data, err = s.post("/api-tokens", fmt.Sprintf(`{"name":"r%d-w%d-%d","type":"read-only"}`, round, w, i))
					}
					mu.Lock()
					delete(busy, id)
					switch {
					case err != nil && id != "":
						uncertain[id] = true
					case err == nil:
						assert.Equal(t, http.StatusCreated, status, "%v", data)
						key, _ := data["accessKey"].(string)
						if id != "" {
							dead = append(dead, old)
						}
						keys[fmt.Sprint(data["id"])] = key
						acks++
						if acks == 30 {
							go kill() // while the other writers are mid-request
						}
					}
					mu.Unlock()
					if err != nil {
						return
					}
				}
			})
		}
		wg.Wait()
		var exit *exec.ExitError
		require.ErrorAs(t, s.cmd.Wait(), &exit)
		require.False(t, exit.Exited(), "killed by the signal, not exited by itself")

		s = startChild(t, db)
		for id, key := range keys {
			if got := s.status(t, key); !uncertain[id] {
				assert.Equal(t, http.StatusOK, got, "round %d: token %s lost its acknowledged key", round, id)
			} else {
				assert.Contains(t, []int{200, 401}, got)
			}
		}
		for _, key := range dead {
			assert.Equal(t, http.StatusUnauthorized, s.status(t, key), "round %d: a key regenerated away works again", round)
		}
		t.Logf("round %d: %d acknowledged writes, %d tokens, %d regenerated", round, acks, len(keys), len(dead))
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
	conn, err := sql.Open("sqlite", db)
	require.NoError(t, err)
	defer conn.Close()
	var check string
	require.NoError(t, conn.QueryRow("PRAGMA integrity_check").Scan(&check))
	assert.Equal(t, "ok", check)
}
