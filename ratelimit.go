package apitoken

import (
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ErrTooManyFailures: the client failed to authenticate too often lately
// (see Config.FailureLimit). Its requests are refused with 429 unchecked.
var ErrTooManyFailures = errors.New("apitoken: too many failed authentications")

// FailureLimit limits failed authentications per client, so that guessing
// keys is slow and a flood of bad keys costs no hashing or store lookups.
type FailureLimit struct {
	// Rate is how many failures a second a client earns back. Required.
	Rate rate.Limit
	// Burst is how many failures in a row a client may have. Default 10.
	Burst int
	// ClientKey names the client of a request. Default: the host of
	// RemoteAddr. Behind a reverse proxy, return the address it reports.
	ClientKey func(*http.Request) string
	// MaxClients bounds the clients remembered. Default 100,000; when full,
	// the clients that have earned back all their tries are forgotten first.
	MaxClients int
}

type failureLimiter struct {
	FailureLimit
	now     func() time.Time
	mu      sync.Mutex
	clients map[string]*rate.Limiter
}

func newFailureLimiter(l *FailureLimit, now func() time.Time) (*failureLimiter, error) {
	if l == nil {
		return nil, nil
	}
	fl := &failureLimiter{FailureLimit: *l, now: now, clients: make(map[string]*rate.Limiter)}
	if fl.Rate <= 0 {
		return nil, errors.New("apitoken: FailureLimit.Rate must be positive")
	}
	if fl.Burst <= 0 {
		fl.Burst = 10
	}
	if fl.ClientKey == nil {
		fl.ClientKey = remoteHost
	}
	if fl.MaxClients <= 0 {
		fl.MaxClients = 100_000
	}
	return fl, nil
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// blocked returns how long client must wait, or 0 if it may try now.
func (fl *failureLimiter) blocked(client string) time.Duration {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	l, ok := fl.clients[client]
	if !ok {
		return 0
	}
	tokens := l.TokensAt(fl.now())
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / float64(fl.Rate) * float64(time.Second))
}

// fail records a failure of client.
func (fl *failureLimiter) fail(client string) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	now := fl.now()
	l, ok := fl.clients[client]
	if !ok {
		if len(fl.clients) >= fl.MaxClients {
			fl.forget(now)
		}
		l = rate.NewLimiter(fl.Rate, fl.Burst)
		fl.clients[client] = l
	}
	l.AllowN(now, 1)
}

// forget drops the clients that have all their tries back, or, if none
// has, an arbitrary tenth of them.
func (fl *failureLimiter) forget(now time.Time) {
	for c, l := range fl.clients {
		if l.TokensAt(now) >= float64(fl.Burst) {
			delete(fl.clients, c)
		}
	}
	for c := range fl.clients {
		if len(fl.clients) < fl.MaxClients*9/10 {
			break
		}
		delete(fl.clients, c)
	}
}

func retryAfter(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
}
