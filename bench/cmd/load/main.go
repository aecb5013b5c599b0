// Command load sends a fixed number of GET requests to a URL on the loopback
// interface with a fixed concurrency, and reports throughput, latency
// percentiles and status counts. It refuses any host other than 127.0.0.1,
// ::1 or localhost.
//
//	go run ./cmd/load -n 200000 -c 64 -key-file ci.key http://127.0.0.1:1337/api/articles
package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-apitoken/apitoken/bench/internal/loopback"
)

func main() {
	n := flag.Int("n", 100_000, "number of requests")
	c := flag.Int("c", 32, "concurrent clients")
	keyFile := flag.String("key-file", "", "file holding an API token key, sent as Authorization: Bearer; - reads stdin")
	expect := flag.Int("expect", http.StatusOK, "status every response should have")
	forged := flag.Bool("forged", false, "send a new random 256-hex key with every request (a scanner's flood; implies -expect 401)")
	flag.Parse()
	if *forged {
		if *keyFile != "" {
			fmt.Fprintln(os.Stderr, "load: -forged and -key-file exclude each other")
			os.Exit(2)
		}
		*expect = http.StatusUnauthorized
	}
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: load [-n N] [-c C] [-key-file F] URL")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *n, *c, *keyFile, *expect, *forged); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(target string, n, c int, keyFile string, expect int, forged bool) error {
	_, err := loopback.Parse(target)
	if err != nil {
		return err
	}
	var auth string
	if keyFile != "" {
		var b []byte
		if keyFile == "-" {
			b, err = io.ReadAll(os.Stdin)
		} else {
			b, err = os.ReadFile(keyFile)
		}
		if err != nil {
			return err
		}
		auth = "Bearer " + strings.TrimSpace(string(b))
	}
	if n < 1 || c < 1 {
		return errors.New("-n and -c must be positive")
	}
	c = min(c, n)

	client := &http.Client{
		Transport: &http.Transport{
			MaxIdleConns:        c,
			MaxIdleConnsPerHost: c,
			DisableCompression:  true,
			// Never leave loopback, whatever the environment says.
			Proxy:       nil,
			DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}

	// Warm up the connections so that dialing is not measured.
	var warm sync.WaitGroup
	for range c {
		warm.Go(func() { get(client, target, auth) })
	}
	warm.Wait()

	var next atomic.Int64
	latencies := make([]time.Duration, n)
	var mu sync.Mutex
	statuses := map[int]int{}
	var failures atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Go(func() {
			local := map[int]int{}
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					break
				}
				auth := auth
				if forged {
					auth = "Bearer " + randomKey()
				}
				t0 := time.Now()
				status, err := get(client, target, auth)
				latencies[i] = time.Since(t0)
				if err != nil {
					failures.Add(1)
					continue
				}
				local[status]++
			}
			mu.Lock()
			for s, k := range local {
				statuses[s] += k
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))] }
	fmt.Printf("url        %s\n", target)
	fmt.Printf("requests   %d, concurrency %d, authenticated %v\n", n, c, auth != "")
	fmt.Printf("elapsed    %v\n", elapsed.Round(time.Millisecond))
	fmt.Printf("throughput %.0f req/s\n", float64(n)/elapsed.Seconds())
	fmt.Printf("latency    p50 %v  p99 %v  max %v\n", pct(0.50), pct(0.99), latencies[len(latencies)-1])
	fmt.Printf("statuses   %v  transport errors %d\n", statuses, failures.Load())
	if statuses[expect] != n {
		return fmt.Errorf("%d of %d responses had status %d", n-statuses[expect], n, expect)
	}
	return nil
}

// get sends one GET and drains the body, so that the connection is reused.
func get(client *http.Client, target, auth string) (int, error) {
	req, err := http.NewRequest("GET", target, nil)
	if err != nil {
		return 0, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// randomKey returns a well-formed key no token has: 256 random hex digits.
func randomKey() string {
	b := make([]byte, 128)
	rand.Read(b)
	return hex.EncodeToString(b)
}
