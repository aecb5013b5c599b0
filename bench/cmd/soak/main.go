// Command soak runs mixed traffic against a running demo server for a long
// time and prints, every -every, the server process's resident memory, open
// file descriptors and database connections, and the traffic's throughput,
// p99 latency and unexpected answers. It is the long-run check of
// README.md's reliability section; it refuses any host but loopback.
//
// The traffic: -c clients sending 70% authorized GETs with one of -tokens
// read-only keys, 20% GETs with well-formed unknown keys (401), 10% a POST
// then a DELETE with a full-access key; and one admin client that creates,
// uses, regenerates and deletes tokens in a loop, checking that a
// regenerated or deleted key is refused at once.
//
//	go run ./cmd/soak -pid $PID -admin "$ADMIN_EMAIL:$ADMIN_PASSWORD" -duration 3m http://127.0.0.1:18338
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-apitoken/apitoken/bench/internal/loopback"
)

func main() {
	duration := flag.Duration("duration", 3*time.Minute, "how long to run")
	every := flag.Duration("every", 30*time.Second, "how often to report")
	clients := flag.Int("c", 8, "concurrent content clients (the admin client comes on top)")
	tokens := flag.Int("tokens", 50, "read-only tokens the clients share")
	pid := flag.Int("pid", 0, "the server's process id, for its memory, descriptors and database connections (0: not reported)")
	dbPort := flag.Int("db-port", 5432, "the database's TCP port, to count the server's connections to it")
	admin := flag.String("admin", "", "the administrator's EMAIL:PASSWORD (HTTP Basic)")
	flag.Parse()
	if flag.NArg() != 1 || *admin == "" {
		fmt.Fprintln(os.Stderr, "usage: soak -admin EMAIL:PASSWORD [-pid PID] [-duration 3m] [-every 30s] [-c 8] URL")
		os.Exit(2)
	}
	email, password, _ := strings.Cut(*admin, ":")
	s := &soak{base: strings.TrimSuffix(flag.Arg(0), "/"), email: email, password: password, pid: *pid, dbPort: *dbPort}
	if err := s.run(*duration, *every, *clients, *tokens); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

type soak struct {
	base, email, password string
	pid, dbPort           int
	client                *http.Client

	mu        sync.Mutex
	latencies []time.Duration // of the current interval
	wrong     []string        // unexpected answers of the current interval
}

func (s *soak) run(duration, every time.Duration, clients, tokens int) error {
	if _, err := loopback.Parse(s.base); err != nil {
		return err
	}
	s.client = &http.Client{
		Transport: &http.Transport{
			MaxIdleConnsPerHost: clients + 1,
			Proxy:               nil, // never leave loopback
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		},
		Timeout: 30 * time.Second,
	}
	run := hex.EncodeToString(randomBytes(4)) // token names are unique per run
	var readers []string
	var ids []string
	for i := range tokens {
		id, key, err := s.createToken(fmt.Sprintf(`{"name":"soak-%s-read-%d","type":"read-only","lifespan":null}`, run, i))
		if err != nil {
			return err
		}
		readers, ids = append(readers, key), append(ids, id)
	}
	writerID, writer, err := s.createToken(fmt.Sprintf(`{"name":"soak-%s-write","type":"full-access","lifespan":null}`, run))
	if err != nil {
		return err
	}
	ids = append(ids, writerID)
	defer func() {
		for _, id := range ids {
			s.do("DELETE", "/admin/api-tokens/"+id, "", "", http.StatusOK, http.StatusNoContent)
		}
	}()

	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				switch r := mathrand.IntN(100); {
				case r < 70:
					s.do("GET", "/api/articles", "", readers[mathrand.IntN(len(readers))], http.StatusOK)
				case r < 90:
					s.do("GET", "/api/articles", "", hex.EncodeToString(randomBytes(128)), http.StatusUnauthorized)
				default:
					body, ok := s.do("POST", "/api/articles", `{"data":{"title":"soak"}}`, writer, http.StatusCreated)
					if doc := field(body, "documentId"); ok && doc != "" {
						s.do("DELETE", "/api/articles/"+doc, "", writer, http.StatusOK, http.StatusNoContent)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for i := 0; time.Now().Before(deadline); i++ {
			s.churn(fmt.Sprintf("soak-%s-churn-%d", run, i))
		}
	})

	start := time.Now()
	fmt.Printf("%8s %8s %9s %6s %9s %5s %8s\n", "elapsed", "req/s", "p99", "wrong", "rss", "fds", "db conns")
	tick := time.NewTicker(every)
	defer tick.Stop()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	last, total, wrongTotal := start, 0, 0
	for finished := false; !finished; {
		select {
		case <-tick.C:
		case <-done:
			finished = true
		}
		now := time.Now()
		s.mu.Lock()
		lat, wrong := s.latencies, s.wrong
		s.latencies, s.wrong = nil, nil
		s.mu.Unlock()
		total, wrongTotal = total+len(lat), wrongTotal+len(wrong)
		if finished && now.Sub(last) < every/10 && len(wrong) == 0 {
			break // a sliver after the last report: only in the total
		}
		slices.Sort(lat)
		p99 := time.Duration(0)
		if len(lat) > 0 {
			p99 = lat[min(len(lat)-1, len(lat)*99/100)]
		}
		rss, fds, conns := s.process()
		fmt.Printf("%8s %8.0f %9s %6d %9s %5s %8s\n", now.Sub(start).Round(time.Second),
			float64(len(lat))/now.Sub(last).Seconds(), p99.Round(10*time.Microsecond), len(wrong), rss, fds, conns)
		for _, w := range wrong[:min(len(wrong), 5)] {
			fmt.Println("  wrong:", w)
		}
		last = now
	}
	fmt.Printf("total    %d requests in %v, %.0f/s, %d wrong\n", total, time.Since(start).Round(time.Second),
		float64(total)/time.Since(start).Seconds(), wrongTotal)
	if wrongTotal > 0 {
		return fmt.Errorf("%d unexpected answers", wrongTotal)
	}
	return nil
}

// churn creates a token, uses it, regenerates it and deletes it, checking
// that each change applies at once.
func (s *soak) churn(name string) {
	id, key, err := s.createToken(`{"name":"` + name + `","type":"custom","permissions":["api::article.article.find"]}`)
	if err != nil {
		return // already counted
	}
	s.do("GET", "/api/articles", "", key, http.StatusOK)
	body, _ := s.do("POST", "/admin/api-tokens/"+id+"/regenerate", "", "", http.StatusCreated, http.StatusOK)
	fresh := field(body, "accessKey")
	s.do("GET", "/api/articles", "", key, http.StatusUnauthorized)
	s.do("GET", "/api/articles", "", fresh, http.StatusOK)
	s.do("DELETE", "/admin/api-tokens/"+id, "", "", http.StatusOK, http.StatusNoContent)
	s.do("GET", "/api/articles", "", fresh, http.StatusUnauthorized)
}

func (s *soak) createToken(body string) (id, key string, err error) {
	res, ok := s.do("POST", "/admin/api-tokens", body, "", http.StatusCreated)
	if !ok {
		return "", "", errors.New("creating a token failed: " + res)
	}
	return field(res, "id"), field(res, "accessKey"), nil
}

// do sends one request, with key as a bearer token or, without one, as the
// administrator, and records its latency and whether its status was one of
// want.
func (s *soak) do(method, path, body, key string, want ...int) (string, bool) {
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	} else {
		req.SetBasicAuth(s.email, s.password)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	t0 := time.Now()
	res, err := s.client.Do(req)
	var b []byte
	if err == nil {
		b, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	d := time.Since(t0)
	ok := err == nil && slices.Contains(want, res.StatusCode)
	s.mu.Lock()
	s.latencies = append(s.latencies, d)
	if !ok {
		what := fmt.Sprint(err)
		if err == nil {
			what = fmt.Sprintf("%d %.200s", res.StatusCode, b)
		}
		s.wrong = append(s.wrong, fmt.Sprintf("%s %s: %s", method, path, what))
	}
	s.mu.Unlock()
	return string(b), ok
}

// field returns data.name of a JSON response, as a string.
func field(body, name string) string {
	var v struct{ Data map[string]any }
	if json.Unmarshal([]byte(body), &v) != nil || v.Data[name] == nil {
		return ""
	}
	return fmt.Sprint(v.Data[name])
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// process returns the server's resident memory, open descriptors and
// established TCP connections to the database port, from /proc; "-" when
// -pid is not given or /proc cannot say.
func (s *soak) process() (rss, fds, conns string) {
	rss, fds, conns = "-", "-", "-"
	if s.pid == 0 {
		return
	}
	dir := fmt.Sprintf("/proc/%d/", s.pid)
	if status, err := os.ReadFile(dir + "status"); err == nil {
		for line := range strings.Lines(string(status)) {
			if kb, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(kb), " kB"))
				rss = fmt.Sprintf("%.1f MB", float64(n)/1024)
			}
		}
	}
	entries, err := os.ReadDir(dir + "fd")
	if err != nil {
		return
	}
	fds = strconv.Itoa(len(entries))
	sockets := map[string]bool{}
	for _, e := range entries {
		if target, err := os.Readlink(dir + "fd/" + e.Name()); err == nil {
			if inode, ok := strings.CutPrefix(target, "socket:["); ok {
				sockets[strings.TrimSuffix(inode, "]")] = true
			}
		}
	}
	n := 0
	port := fmt.Sprintf(":%04X", s.dbPort)
	for _, table := range []string{"net/tcp", "net/tcp6"} {
		f, err := os.Open(dir + table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) > 9 && strings.HasSuffix(fs[2], port) && fs[3] == "01" && sockets[fs[9]] {
				n++
			}
		}
		f.Close()
	}
	conns = strconv.Itoa(n)
	return
}
