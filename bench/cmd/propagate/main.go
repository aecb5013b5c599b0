// Command propagate measures how long a change made through one server
// instance takes to reach the others: it makes a token on the first URL,
// has every other instance accept (and cache) its key, changes it through
// the first instance's admin API, and times, from the change's response, how
// long each other instance keeps answering as before. Two changes: a
// deletion (the key must be refused with 401) and a downgrade from
// full-access to read-only (a delete, answered 204 before, must be refused with 403). It reports
// p50, p99 and max over the trials, and refuses hosts other than loopback.
//
//	go run ./cmd/propagate -admin admin@example.com:secret -trials 50 \
//	  http://127.0.0.1:18401 http://127.0.0.1:18402 http://127.0.0.1:18403
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-apitoken/apitoken/bench/internal/loopback"
)

func main() {
	admin := flag.String("admin", "", "EMAIL:PASSWORD of the first instance's admin API (HTTP Basic)")
	trials := flag.Int("trials", 50, "changes of each kind")
	timeout := flag.Duration("timeout", 10*time.Second, "longest wait for one instance to see one change")
	flag.Parse()
	email, password, ok := strings.Cut(*admin, ":")
	if !ok || flag.NArg() < 2 {
		fmt.Fprintln(os.Stderr, "usage: propagate -admin EMAIL:PASSWORD [-trials N] URL-A URL-B [URL-C…]")
		os.Exit(2)
	}
	for _, u := range flag.Args() {
		if _, err := loopback.Parse(u); err != nil {
			fmt.Fprintln(os.Stderr, "propagate:", err)
			os.Exit(2)
		}
	}
	r := &runner{a: flag.Arg(0), others: flag.Args()[1:], email: email, password: password, timeout: *timeout,
		client: &http.Client{Timeout: 5 * time.Second}}
	for _, kind := range []change{deletion, downgrade} {
		var lat []time.Duration
		for i := range *trials {
			d, err := r.trial(kind, i)
			if err != nil {
				fmt.Fprintf(os.Stderr, "propagate: %s trial %d: %v\n", kind.name, i, err)
				os.Exit(1)
			}
			lat = append(lat, d...)
		}
		slices.Sort(lat)
		fmt.Printf("%-9s %d observations (%d trials × %d instances): p50 %v  p99 %v  max %v\n", kind.name, len(lat), *trials,
			len(r.others), pct(lat, 50), pct(lat, 99), lat[len(lat)-1])
	}
}

// pct is the p-th percentile of sorted ds (nearest rank).
func pct(ds []time.Duration, p int) time.Duration {
	i := (len(ds)*p + 99) / 100
	return ds[max(i-1, 0)]
}

// change is a kind of change: the token it starts from, a request that the
// token passes before and fails after, and the admin request that makes it.
type change struct {
	name          string
	create        string // JSON body
	method, path  string // the probe
	before, after int    // the probe's status before and after
	apply         func(r *runner, id string) error
}

var (
	deletion = change{name: "delete", create: `{"name":%q,"type":"read-only"}`, method: "GET", path: "/api/articles",
		before: 200, after: 401,
		apply: func(r *runner, id string) error { return r.admin("DELETE", "/admin/api-tokens/"+id, "", nil) }}
	downgrade = change{name: "downgrade", create: `{"name":%q,"type":"full-access"}`, method: "DELETE",
		path: "/api/articles/not-a-document", before: 204, after: 403,
		apply: func(r *runner, id string) error {
			return r.admin("PUT", "/admin/api-tokens/"+id, `{"type":"read-only"}`, nil)
		}}
)

type runner struct {
	a               string
	others          []string
	email, password string
	timeout         time.Duration
	client          *http.Client
}

// trial makes one change and returns how long each other instance took to
// see it.
func (r *runner) trial(c change, i int) ([]time.Duration, error) {
	var created struct {
		Data struct {
			ID        string `json:"id"`
			AccessKey string `json:"accessKey"`
		} `json:"data"`
	}
	name := fmt.Sprintf("propagate-%s-%d-%d", c.name, time.Now().UnixNano(), i)
	if err := r.admin("POST", "/admin/api-tokens", fmt.Sprintf(c.create, name), &created); err != nil {
		return nil, err
	}
	key := created.Data.AccessKey
	for _, u := range r.others {
		for range 3 { // the first request fills the instance's cache
			if st, err := r.probe(u, c, key); err != nil || st != c.before {
				return nil, fmt.Errorf("%s before the change: %d %v", u, st, err)
			}
		}
	}
	if err := c.apply(r, created.Data.ID); err != nil {
		return nil, err
	}
	changed := time.Now()
	ds := make([]time.Duration, len(r.others))
	errs := make([]error, len(r.others))
	var wg sync.WaitGroup
	for j, u := range r.others {
		wg.Go(func() {
			for time.Since(changed) < r.timeout {
				st, err := r.probe(u, c, key)
				if err != nil {
					errs[j] = err
					return
				}
				if st == c.after {
					ds[j] = time.Since(changed)
					return
				}
				if st != c.before {
					errs[j] = fmt.Errorf("%s: status %d, want %d or %d", u, st, c.before, c.after)
					return
				}
				time.Sleep(time.Millisecond)
			}
			errs[j] = fmt.Errorf("%s still answers %d after %v", u, c.before, r.timeout)
		})
	}
	wg.Wait()
	if c.name != "delete" {
		r.admin("DELETE", "/admin/api-tokens/"+created.Data.ID, "", nil) //nolint:errcheck // best effort
	}
	return ds, errors.Join(errs...)
}

func (r *runner) probe(base string, c change, key string) (int, error) {
	req, err := http.NewRequest(c.method, base+c.path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (r *runner) admin(method, path, body string, out any) error {
	req, err := http.NewRequest(method, r.a+path, bytes.NewReader([]byte(body)))
	if err != nil {
		return err
	}
	req.SetBasicAuth(r.email, r.password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
