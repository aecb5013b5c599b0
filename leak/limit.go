package leak

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// clientLimits limits requests per client, remembering at most max
// clients.
type clientLimits struct {
	rate  rate.Limit
	burst int
	max   int
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

// take spends one of client's requests at now, and returns 0, or how long
// to wait when it has none left.
func (l *clientLimits) take(client string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[client]
	if lim == nil {
		if len(l.m) >= l.max {
			l.forget(now)
		}
		lim = rate.NewLimiter(l.rate, l.burst)
		l.m[client] = lim
	}
	res := lim.ReserveN(now, 1)
	if wait := res.DelayFrom(now); wait > 0 {
		res.CancelAt(now) // a refused request costs nothing more
		return wait
	}
	return 0
}

// forget drops the clients that have all their requests back, or, if
// none has, an arbitrary tenth of them.
func (l *clientLimits) forget(now time.Time) {
	for c, lim := range l.m {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.m, c)
		}
	}
	for c := range l.m {
		if len(l.m) < l.max*9/10 {
			break
		}
		delete(l.m, c)
	}
}

// normalise makes an IPv4-mapped address its IPv4 address, and an IPv6
// address its /64, the smallest block a subscriber is given.
func normalise(client string) string {
	a, err := netip.ParseAddr(client)
	if err != nil {
		return client
	}
	if a = a.WithZone("").Unmap(); a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
