package apitoken

import (
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"github.com/go-apitoken/apitoken/internal/clients"
)

// FailureLimit limits failed authentications per client, so that guessing
// keys is slow and a flood of bad keys costs no HMAC or store lookup.
//
// Only requests that present a key count: one with no Authorization header,
// or with one that is not a single "bearer <key>" (ErrNoCredentials,
// ErrMalformedHeader, ErrMultipleHeaders), guesses nothing and costs
// nothing to refuse, and counting it would let any web page lock a client
// out with an <img> of the API's URL.
//
// A limited client is not locked out: a request that presents a key this
// Service has verified before and still remembers (Config.KeyMemo) is
// checked as usual, so that an attacker sharing an address with honest
// clients, behind a NAT, a proxy or a unix socket, cannot lock them out.
// Finding a key in the memo costs a SHA-256 and no store lookup, so the
// attacker's guesses stay cheap. Keys this Service has not yet verified, or
// has forgotten (the memo is emptied when full, and KeyMemo -1 turns it
// off), wait with every other request of the client: telling them from the
// attacker's would cost the hash and lookup the limit exists to spare.
type FailureLimit struct {
	// Rate is how many failures a second a client earns back. Required.
	Rate rate.Limit
	// Burst is how many failures in a row a client may have. Default 10.
	Burst int
	// ClientKey names the client of a request. Default: its address by
	// Config.TrustedProxies, or without them the host of RemoteAddr,
	// which behind a reverse proxy is the proxy: all clients would then be
	// one. Set TrustedProxies, or return the client address the proxy
	// reports, taking it only from proxies you trust (see the example).
	// A returned IP address is normalised: an IPv4-mapped IPv6 address
	// counts as its IPv4 address, and IPv6 addresses count per /64, the
	// smallest block a subscriber is given. Requests over a unix socket
	// have no address and are all one client.
	ClientKey func(*http.Request) string
	// MaxClients bounds the clients remembered. Default 100,000; when full,
	// the clients that have earned back all their tries are forgotten first.
	MaxClients int
}

type failureLimiter struct {
	FailureLimit
	now     func() time.Time
	clients clients.Limits
}

func newFailureLimiter(l *FailureLimit, now func() time.Time, client func(*http.Request) string) (*failureLimiter, error) {
	if l == nil {
		return nil, nil
	}
	fl := &failureLimiter{FailureLimit: *l, now: now}
	if fl.Rate <= 0 {
		return nil, errors.New("apitoken: FailureLimit.Rate must be positive")
	}
	if fl.Burst <= 0 {
		fl.Burst = 10
	}
	if fl.ClientKey == nil {
		fl.ClientKey = client
	}
	if fl.MaxClients <= 0 {
		fl.MaxClients = 100_000
	}
	fl.clients = clients.Limits{Rate: fl.Rate, Burst: fl.Burst, Max: fl.MaxClients}
	return fl, nil
}

// client returns the normalised ClientKey of r.
func (fl *failureLimiter) client(r *http.Request) string { return clients.Normalise(fl.ClientKey(r)) }

// knownKey reports whether r presents a key the Service has verified and
// remembers (see FailureLimit). It costs a SHA-256 at most: no HMAC, no
// store lookup.
func (s *Service) knownKey(r *http.Request) bool {
	vals := r.Header["Authorization"]
	if s.memo == nil || len(vals) != 1 {
		return false
	}
	key, err := splitBearer(vals[0])
	return err == nil && s.plausibleKey(key) && s.memo.has(key, s.now())
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
	tokens := fl.clients.Tokens(client, fl.now())
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / float64(fl.Rate) * float64(time.Second))
}

// fail records a failure of client.
func (fl *failureLimiter) fail(client string) {
	now := fl.now()
	fl.clients.Do(client, now, func(l *rate.Limiter) { l.AllowN(now, 1) })
}

func retryAfter(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
}
