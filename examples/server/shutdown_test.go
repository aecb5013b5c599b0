package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestShutdownAnswersRequestsSentBefore has 32 clients send POST, GET and
// DELETE on their own keep-alive connections, stops the server as SIGTERM
// does (the signal context's cancellation) while they send, and checks that
// every request sent before the stop got a response: none is cut by the
// server closing a connection it thought idle, or retried into a closed
// listener.
func TestShutdownAnswersRequestsSentBefore(t *testing.T) {
	const clients, warmup, maxRequests = 32, 10, 5000
	for round := range 3 { // the race is a few milliseconds wide: give it chances
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			env := map[string]string{"ADMIN_EMAIL": adminEmail, "ADMIN_PASSWORD": adminPassword}
			s := startServer(t, filepath.Join(t.TempDir(), "drain.db"), env, func(c *config) {
				c.shutdownGrace = 500 * time.Millisecond
			})
			_, key := s.createToken(t, `{"name":"drain","type":"full-access","lifespan":null}`)

			var (
				stopping atomic.Bool
				answered atomic.Int64
				warm     = make(chan struct{})
				mu       sync.Mutex
				failures []string
				wg       sync.WaitGroup
			)
			for c := range clients {
				wg.Go(func() {
					tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
					defer tr.CloseIdleConnections()
					client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
					doc := ""
					for i := range maxRequests {
						if stopping.Load() {
							return
						}
						method, path, body := "POST", "/api/articles", fmt.Sprintf(`{"data":{"title":"c%d-%d"}}`, c, i)
						switch {
						case doc != "" && i%3 == 1:
							method, path, body = "GET", "/api/articles/"+doc, ""
						case doc != "" && i%3 == 2:
							method, path, body = "DELETE", "/api/articles/"+doc, ""
						}
						status, resBody, err := send(client, method, s.url+path, body, key)
						if err != nil || status >= 500 {
							mu.Lock()
							failures = append(failures, fmt.Sprintf("%s %s: %d %v", method, path, status, err))
							mu.Unlock()
							return
						}
						if method == "POST" {
							doc = documentID(resBody)
						}
						if method == "DELETE" {
							doc = ""
						}
						if answered.Add(1) == clients*warmup {
							close(warm)
						}
					}
				})
			}
			select {
			case <-warm:
			case <-time.After(30 * time.Second):
				require.FailNow(t, "the clients did not get going")
			}
			stopping.Store(true) // requests that have not checked it yet count as sent before the stop
			s.stop()
			wg.Wait()
			t.Logf("%d requests answered before the stop", answered.Load())
			assert.Empty(t, failures, "requests sent before the stop that got no response")
		})
	}
}

// send makes one request with key and returns the response's status and body.
func send(client *http.Client, method, url, body, key string) (int, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// documentID returns data.documentId of a created document, or "".
func documentID(body string) string {
	var v struct {
		Data struct {
			DocumentID string `json:"documentId"`
		} `json:"data"`
	}
	json.Unmarshal([]byte(body), &v)
	return v.Data.DocumentID
}
