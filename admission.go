package apitoken

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// clientAddr returns the address of r's client: its peer's, or, when the
// peer is one of Config.TrustedProxies, the last address in
// X-Forwarded-For that no trusted proxy added. ok is false when there is
// none, as over a unix socket or from a trusted proxy that named no client.
func (s *Service) clientAddr(r *http.Request) (a netip.Addr, ok bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	a = ap.Addr().WithZone("").Unmap()
	if !s.trusted(a) {
		return a, true
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		list := hops[i]
		for list != "" {
			var hop string
			if j := strings.LastIndexByte(list, ','); j >= 0 {
				hop, list = list[j+1:], list[:j]
			} else {
				hop, list = list, ""
			}
			h, err := netip.ParseAddr(strings.TrimSpace(hop))
			if err != nil {
				return netip.Addr{}, false // a forged or broken chain names no one
			}
			if h = h.WithZone("").Unmap(); !s.trusted(h) {
				return h, true
			}
		}
	}
	return netip.Addr{}, false
}

// trusted reports whether a is one of Config.TrustedProxies.
func (s *Service) trusted(a netip.Addr) bool {
	for _, p := range s.trustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientName names r's client as audit events and the failure limit do:
// its address, read through Config.TrustedProxies, or the host of
// RemoteAddr when there is none. Handlers that limit requests per client,
// such as those of package leak, use it.
func (s *Service) ClientName(r *http.Request) string { return s.clientName(r) }

// clientName names r's client for audit events and the failure limit: its
// address by clientAddr, or the peer as Go reports it.
func (s *Service) clientName(r *http.Request) string {
	if a, ok := s.clientAddr(r); ok {
		return a.String()
	}
	return remoteHost(r)
}

// admit checks the parts of t's Policy that concern who presents its key:
// Disabled, and AllowedIPs against c's client: a request's by clientAddr,
// or the address c was given (no address: refused). Its refusals are
// audited with the token.
func (s *Service) admit(ctx context.Context, t *Token, c caller) error {
	var err error
	switch {
	case t.Disabled:
		err = ErrDisabled
	case len(t.AllowedIPs) > 0:
		a, ok := s.callerAddr(c)
		if !ok || !t.allowsAddr(a) {
			err = ErrAddressNotAllowed
		}
	}
	if err != nil {
		s.event(ctx, EventAuthFailed, t, err, c)
	}
	return err
}

// callerAddr returns the address of c's client, if it has one.
func (s *Service) callerAddr(c caller) (netip.Addr, bool) {
	if c.r != nil {
		return s.clientAddr(c.r)
	}
	if ap, err := netip.ParseAddrPort(c.addr); err == nil {
		return ap.Addr().WithZone("").Unmap(), true
	}
	a, err := netip.ParseAddr(c.addr)
	return a.WithZone("").Unmap(), err == nil
}

// grant is what spending a use of a token left: for the RateLimit headers.
type grant struct {
	limit     *RateLimit // nil: no rate limit
	remaining int
	reset     time.Duration
}

// spend spends one use of t's rate limit and quota, if it has them, once a
// request is otherwise allowed, so that refused requests cost nothing. It
// returns a *LimitError when either is used up, and ErrUnavailable when the
// rate count (Config.SharedRates, or in memory when the request's context
// ends while it waits for another of the token's) or the quota cannot be
// reached.
func (s *Service) spend(ctx context.Context, t *Token) (grant, error) {
	if t.RateLimit == nil && t.Quota == nil {
		return grant{}, nil
	}
	var g grant
	if rl := t.RateLimit; rl != nil {
		g.limit = rl
		var ok bool
		var err error
		if g.remaining, g.reset, ok, err = s.rates.take(ctx, t.ID, *rl); err != nil {
			return grant{}, err
		}
		if !ok {
			return g, &LimitError{Err: ErrRateLimited, RetryAfter: g.reset}
		}
	}
	if q := t.Quota; q != nil {
		if s.spender == nil {
			return g, fmt.Errorf("%w: the store cannot spend quotas", ErrUnavailable)
		}
		now := s.now() // the rate count reads its own, with the token's turn held
		ctx, cancel := s.bounded(ctx)
		defer cancel()
		_, err := s.spender.SpendQuota(ctx, t.ID, now.UTC(), q.PeriodStart(now))
		switch {
		case errors.Is(err, ErrQuotaExhausted):
			le := &LimitError{Err: ErrQuotaExhausted}
			if next := q.nextPeriod(now); !next.IsZero() {
				le.RetryAfter = next.Sub(now)
			}
			return g, le
		case errors.Is(err, ErrNotFound):
			return g, ErrInvalidKey // deleted since it was read
		case err != nil:
			return g, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	return g, nil
}

// LimitError is a refusal for a token's RateLimit (ErrRateLimited) or Quota
// (ErrQuotaExhausted), with when to try again: zero when never.
type LimitError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *LimitError) Error() string { return e.Err.Error() }

// Unwrap returns ErrRateLimited or ErrQuotaExhausted.
func (e *LimitError) Unwrap() error { return e.Err }

// writeHeaders writes g's RateLimit and RateLimit-Policy headers
// (draft-ietf-httpapi-ratelimit-headers) and, for a refusal, Retry-After.
func (g grant) writeHeaders(h http.Header, err error) {
	if g.limit != nil {
		w := int(time.Duration(g.limit.Window) / time.Second)
		h.Set("RateLimit-Policy", `"token";q=`+strconv.Itoa(g.limit.Requests)+";w="+strconv.Itoa(w))
		h.Set("RateLimit", `"token";r=`+strconv.Itoa(g.remaining)+";t="+retryAfter(g.reset))
	}
	var le *LimitError
	if errors.As(err, &le) && le.RetryAfter > 0 {
		h.Set("Retry-After", retryAfter(le.RetryAfter))
	}
}
