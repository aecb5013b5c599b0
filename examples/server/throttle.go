package main

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Password checks are throttled as Strapi throttles its admin login: 5
// attempts per 5 minutes per client address. Strapi keys its limit on the
// email, the path and the address together; the address alone here is
// stricter, and counts the login form and Basic auth as one. An attempt is
// a check of a password; a throttled request is refused before any bcrypt
// work, so a flood of guesses costs the server nothing and cannot hold the
// bcrypt slots that the administrator's login waits for.
//
// An email also has a loose limit of its own whatever the address,
// emailAttempts per 5 minutes: a backstop against guessing from many
// addresses (an IPv6 /48 holds 65,536 /64s), loose enough that one address,
// or a few, guessing slowly do not keep the administrator out. A strict
// per-email limit did: one wrong password a minute from anywhere kept the
// administrator out of every address for good. A successful login gives
// its attempt back, and spares its address the email's limit from then on.
//
// The tables of addresses and emails are bounded, and forget only entries
// whose attempts have all come back: forgetting a busy one would give it
// its attempts back. When a table is full of busy entries, a newcomer is
// refused until one is full again; filling it takes maxThrottled wrong
// passwords, each a bcrypt check, within loginWindow/loginAttempts.
const (
	loginAttempts = 5
	loginWindow   = 5 * time.Minute
	// emailAttempts is the email's limit per loginWindow, whatever the
	// address.
	emailAttempts = 100
	// maxThrottled bounds the addresses and emails remembered, each.
	maxThrottled = 10_000
	// trustFor is how long an address that logged in is spared the
	// email's limit.
	trustFor = 30 * 24 * time.Hour
)

// loginLimiter counts password attempts. It is safe for concurrent use.
type loginLimiter struct {
	now func() time.Time

	mu      sync.Mutex
	addrs   table
	emails  table
	trusted map[string]time.Time // address → when its last login was
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{
		now:     now,
		addrs:   table{m: map[string]*bucket{}, burst: loginAttempts, refill: loginWindow / loginAttempts},
		emails:  table{m: map[string]*bucket{}, burst: emailAttempts, refill: loginWindow / emailAttempts},
		trusted: map[string]time.Time{},
	}
}

// table holds the buckets of addresses or of emails, each of burst
// attempts at most, one coming back every refill.
type table struct {
	m      map[string]*bucket
	burst  float64
	refill time.Duration
	// fullUntil is, when m was found full of busy buckets, when the
	// first of them is full again: until then none can be forgotten.
	fullUntil time.Time
}

// bucket holds the attempts of one address or email. It is x/time/rate's
// token bucket, but one that can give an attempt back once taken (a
// Reservation can only be cancelled before it takes effect).
type bucket struct {
	tokens float64 // at at
	at     time.Time
}

func (t *table) level(b *bucket, now time.Time) float64 {
	return min(t.burst, b.tokens+float64(now.Sub(b.at))/float64(t.refill))
}

func (t *table) add(b *bucket, now time.Time, n float64) {
	b.tokens, b.at = min(t.burst, t.level(b, now)+n), now
}

// wait returns how long b must wait for an attempt, or 0.
func (t *table) wait(b *bucket, now time.Time) time.Duration {
	if level := t.level(b, now); level < 1 {
		return time.Duration(math.Ceil((1 - level) * float64(t.refill)))
	}
	return 0
}

// bucket returns the bucket of key, made if need be; or, when the table is
// full of busy buckets, nil and how long until one is full again.
func (t *table) bucket(key string, now time.Time) (*bucket, time.Duration) {
	if b, ok := t.m[key]; ok {
		return b, 0
	}
	if len(t.m) >= maxThrottled {
		if now.Before(t.fullUntil) {
			return nil, t.fullUntil.Sub(now)
		}
		soonest := time.Duration(math.MaxInt64)
		for k, b := range t.m {
			if t.level(b, now) >= t.burst {
				delete(t.m, k)
			} else {
				soonest = min(soonest, time.Duration(math.Ceil((t.burst-t.level(b, now))*float64(t.refill))))
			}
		}
		if len(t.m) >= maxThrottled {
			t.fullUntil = now.Add(soonest)
			return nil, soonest
		}
	}
	b := &bucket{tokens: t.burst, at: now}
	t.m[key] = b
	return b, 0
}

// take is a bucket of a table that an attempt takes from.
type take struct {
	t *table
	b *bucket
}

// wait returns how long addr or email must wait for an attempt, or 0.
func (l *loginLimiter) wait(addr, email string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, wait := l.buckets(addr, email, l.now())
	return wait
}

// buckets returns the buckets that an attempt of addr with email takes
// from, and how long it must wait for one. l.mu must be held.
func (l *loginLimiter) buckets(addr, email string, now time.Time) (takes []take, wait time.Duration) {
	email = strings.ToLower(strings.TrimSpace(truncate(email, 320)))
	b, wait := l.addrs.bucket(addr, now)
	if b == nil {
		return nil, wait
	}
	takes = []take{{&l.addrs, b}}
	if at, ok := l.trusted[addr]; !ok || now.Sub(at) > trustFor {
		b, wait := l.emails.bucket(email, now)
		if b == nil {
			return nil, wait
		}
		takes = append(takes, take{&l.emails, b})
	}
	for _, tk := range takes {
		wait = max(wait, tk.t.wait(tk.b, now))
	}
	return takes, wait
}

// reserve takes an attempt from addr and from email, and returns release,
// to call with the outcome of the check; or, when either has none left, how
// long to wait for one, and takes nothing.
func (l *loginLimiter) reserve(addr, email string) (release func(ok bool), wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	takes, wait := l.buckets(addr, email, now)
	if wait > 0 {
		return nil, wait
	}
	for _, tk := range takes {
		tk.t.add(tk.b, now, -1)
	}
	return func(ok bool) {
		if !ok {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		now := l.now()
		for _, tk := range takes {
			tk.t.add(tk.b, now, 1)
		}
		if _, known := l.trusted[addr]; !known && len(l.trusted) >= maxThrottled {
			forgetOldest(l.trusted)
		}
		l.trusted[addr] = now
	}, 0
}

// forgetOldest drops the oldest tenth of m.
func forgetOldest(m map[string]time.Time) {
	times := make([]time.Time, 0, len(m))
	for _, at := range m {
		times = append(times, at)
	}
	if len(times) == 0 {
		return
	}
	slices.SortFunc(times, time.Time.Compare)
	cut := times[len(times)/10]
	for k, at := range m {
		if !at.After(cut) {
			delete(m, k)
		}
	}
}

// clientAddr names a request's client for throttling: the host of its
// RemoteAddr, with an IPv4-mapped IPv6 address as its IPv4 address and an
// IPv6 address as its /64, the smallest block a subscriber gets (as
// apitoken.FailureLimit counts them). The demo trusts no proxy header.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if a = a.WithZone("").Unmap(); a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// retryAfter is the Retry-After value for a wait: whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
