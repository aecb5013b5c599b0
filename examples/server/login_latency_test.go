package main

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientFrom returns an HTTP client whose connections come from the
// loopback address local, such as 127.0.0.2, so that the server sees
// another client address.
func clientFrom(local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	return &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// TestLoginLatency times the administrator's login form, alone and while 32
// connections from another address send wrong Basic credentials, on a
// server process with the default bcrypt cost.
func TestLoginLatency(t *testing.T) {
	if os.Getenv(measureEnv) == "" {
		t.Skip("set " + measureEnv + "=1 to measure (without -race)")
	}
	s := startChild(t, filepath.Join(t.TempDir(), "login.db"))
	admin := clientFrom("127.0.0.1")
	login := func() (time.Duration, int) {
		start := time.Now()
		res, err := admin.PostForm(s.url+"/admin/login", url.Values{"email": {adminEmail}, "password": {adminPassword}})
		require.NoError(t, err)
		res.Body.Close()
		return time.Since(start), res.StatusCode
	}
	median := func(n int) (time.Duration, []int) {
		var took []time.Duration
		var statuses []int
		for range n {
			d, st := login()
			took = append(took, d)
			statuses = append(statuses, st)
		}
		slices.Sort(took)
		return took[len(took)/2], statuses
	}
	idle, _ := median(5)

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var sent, throttled atomic.Int64
	attacker := clientFrom("127.0.0.2")
	for range 32 {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/admin/api-tokens", nil)
				req.SetBasicAuth(strings.ToUpper(adminEmail[:1])+"x"+adminEmail[1:], "wrong password")
				res, err := attacker.Do(req)
				if err != nil {
					continue
				}
				res.Body.Close()
				sent.Add(1)
				if res.StatusCode == http.StatusTooManyRequests {
					throttled.Add(1)
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	loaded, statuses := median(5)
	stop()
	wg.Wait()
	t.Logf("login alone: %v; while 32 connections send wrong Basic credentials: %v (statuses %v); the attackers sent %d requests, %d throttled (429)",
		idle.Round(time.Millisecond), loaded.Round(time.Millisecond), statuses, sent.Load(), throttled.Load())
	assert.Less(t, loaded, 3*idle+50*time.Millisecond, "the attack slows the login")
}
