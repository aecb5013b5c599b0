// Package clients keeps a rate limiter per client, as the failure limit of
// the apitoken package and the leak package's report limit do, and names
// clients by address the way both count them.
package clients

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits holds a rate.Limiter of Rate and Burst per client, remembering at
// most Max clients. Its methods are safe for concurrent use; set the fields
// before the first call.
type Limits struct {
	Rate  rate.Limit
	Burst int
	Max   int

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// Do calls f with client's limiter, made at first use, under the lock of
// l: f may read and spend it.
func (l *Limits) Do(client string, now time.Time, f func(*rate.Limiter)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[client]
	if lim == nil {
		if l.m == nil {
			l.m = make(map[string]*rate.Limiter)
		}
		if len(l.m) >= l.Max {
			l.forget(now)
		}
		lim = rate.NewLimiter(l.Rate, l.Burst)
		l.m[client] = lim
	}
	f(lim)
}

// Tokens returns what client has left at now: Burst for a client not
// remembered.
func (l *Limits) Tokens(client string, now time.Time) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lim := l.m[client]; lim != nil {
		return lim.TokensAt(now)
	}
	return float64(l.Burst)
}

// forget drops the clients that have everything back, or, if none has, an
// arbitrary tenth of them.
func (l *Limits) forget(now time.Time) {
	for c, lim := range l.m {
		if lim.TokensAt(now) >= float64(l.Burst) {
			delete(l.m, c)
		}
	}
	for c := range l.m {
		if len(l.m) < l.Max*9/10 {
			break
		}
		delete(l.m, c)
	}
}

// Normalise names a client by address as the limits count them: an
// IPv4-mapped IPv6 address as its IPv4 address, an IPv6 address by its
// /64, the smallest block a subscriber is given, and anything that is no
// address as it is.
func Normalise(client string) string {
	a, err := netip.ParseAddr(client)
	if err != nil {
		return client
	}
	if a = a.WithZone("").Unmap(); a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64) // never fails: 64 is within an IPv6 address
	return p.String()
}
