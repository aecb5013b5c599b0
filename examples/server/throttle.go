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
// attempts per 5 minutes per client address and per email. An attempt is a
// check of a password, by the login form or by Basic auth; a throttled
// request is refused before any bcrypt work, so a flood of guesses costs
// the server nothing and cannot hold the bcrypt slots that the
// administrator's login waits for.
//
// A successful login gives its attempt back, and spares its address the
// email's limit from then on: whoever guesses the administrator's email
// could otherwise keep them out with one wrong password a minute. An
// address that has not logged in since the server started has no such
// pass, and waits with everyone else.
const (
	loginAttempts = 5
	loginWindow   = 5 * time.Minute
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
	addrs   map[string]*bucket
	emails  map[string]*bucket
	trusted map[string]time.Time // address → when its last login was
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, addrs: map[string]*bucket{}, emails: map[string]*bucket{}, trusted: map[string]time.Time{}}
}

// bucket holds the attempts of one address or email: loginAttempts at
// most, one coming back every loginWindow/loginAttempts. It is
// x/time/rate's token bucket, but one that can give an attempt back once
// taken (a Reservation can only be cancelled before it takes effect).
type bucket struct {
	tokens float64 // at at
	at     time.Time
}

const refill = loginWindow / loginAttempts

func (b *bucket) level(now time.Time) float64 {
	return min(loginAttempts, b.tokens+float64(now.Sub(b.at))/float64(refill))
}

func (b *bucket) add(now time.Time, n float64) {
	b.tokens, b.at = min(loginAttempts, b.level(now)+n), now
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
func (l *loginLimiter) buckets(addr, email string, now time.Time) (buckets []*bucket, wait time.Duration) {
	email = strings.ToLower(strings.TrimSpace(truncate(email, 320)))
	buckets = []*bucket{l.bucket(l.addrs, addr, now)}
	if at, ok := l.trusted[addr]; !ok || now.Sub(at) > trustFor {
		buckets = append(buckets, l.bucket(l.emails, email, now))
	}
	for _, b := range buckets {
		if level := b.level(now); level < 1 {
			wait = max(wait, time.Duration(math.Ceil((1-level)*float64(refill))))
		}
	}
	return buckets, wait
}

// reserve takes an attempt from addr and from email, and returns release,
// to call with the outcome of the check; or, when either has none left, how
// long to wait for one, and takes nothing.
func (l *loginLimiter) reserve(addr, email string) (release func(ok bool), wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	buckets, wait := l.buckets(addr, email, now)
	if wait > 0 {
		return nil, wait
	}
	for _, b := range buckets {
		b.add(now, -1)
	}
	return func(ok bool) {
		if !ok {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		now := l.now()
		for _, b := range buckets {
			b.add(now, 1)
		}
		if _, known := l.trusted[addr]; !known && len(l.trusted) >= maxThrottled {
			forgetOldest(l.trusted)
		}
		l.trusted[addr] = now
	}, 0
}

// bucket returns the bucket of key in m, made if need be, forgetting the
// buckets that are full again when m is.
func (l *loginLimiter) bucket(m map[string]*bucket, key string, now time.Time) *bucket {
	if b, ok := m[key]; ok {
		return b
	}
	if len(m) >= maxThrottled {
		for k, b := range m {
			if b.level(now) >= loginAttempts {
				delete(m, k)
			}
		}
		for k := range m { // all busy: an arbitrary tenth goes
			if len(m) < maxThrottled*9/10 {
				break
			}
			delete(m, k)
		}
	}
	b := &bucket{tokens: loginAttempts, at: now}
	m[key] = b
	return b
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
