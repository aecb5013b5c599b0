package apitoken

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Policy restricts what a token's key may do beyond its type: what Strapi's
// tokens lack and Stripe's, Unkey's and GitHub's have. The zero Policy
// restricts nothing, and a token without one costs verification nothing
// more. Stores keep it with the token; Service.Create and Service.Update set
// it.
type Policy struct {
	// Disabled refuses the key (401, ErrDisabled) until the token is
	// enabled again; unlike a deletion, nothing else about it changes.
	Disabled bool `json:"disabled,omitempty"`

	// AllowedIPs, when not empty, are the only networks the key is
	// accepted from (403, ErrAddressNotAllowed). The client's address is
	// the request's peer, or behind Config.TrustedProxies the address
	// they report. A single address is a /32 or /128 prefix.
	AllowedIPs []netip.Prefix `json:"allowedIPs,omitempty"`

	// RateLimit, when set, bounds the requests the key may make in each
	// window (429, ErrRateLimited, with Retry-After and the IETF
	// RateLimit and RateLimit-Policy headers). Windows are aligned to the
	// clock, whichever way they are counted (see Config.SharedRates).
	RateLimit *RateLimit `json:"rateLimit,omitempty"`

	// Quota, when set, is the number of uses the key has left, spent
	// atomically in the store, so that instances sharing a database
	// never let through more uses than it holds (429, ErrQuotaExhausted).
	Quota *Quota `json:"quota,omitempty"`
}

// RateLimit is a number of requests per window, counted for each token on
// each Service, or across Services through Config.SharedRates. A window
// starts at a multiple of its length since the zero time (a one-minute
// window at :00, a one-day window at midnight UTC), not at a token's first
// request: 100 a minute admits up to 100 from 12:00:00 to 12:01:00, and
// 100 more from 12:01:00, however late in the first minute they came.
type RateLimit struct {
	Requests int      `json:"requests"`
	Window   Duration `json:"window"` // in milliseconds in JSON
}

// Refill is how often a Quota is refilled.
type Refill string

// The refill periods of a Quota. Periods start at midnight UTC, on the first
// of the month for Monthly.
const (
	NoRefill Refill = ""
	Daily    Refill = "daily"
	Monthly  Refill = "monthly"
)

// Quota is a token's allowance of uses. Limit is what it starts with and,
// when Refill is set, what it is refilled to at the start of each period.
type Quota struct {
	Limit     int64  `json:"limit"`
	Refill    Refill `json:"refill,omitempty"`
	Remaining int64  `json:"remaining"` // when the token was read
	// RefilledAt is when Remaining was last set to Limit: at creation, at
	// an update of the quota, or at the first use of a new period.
	RefilledAt time.Time `json:"refilledAt"`
}

// PeriodStart returns the start of the refill period that now is in, or the
// zero time for a quota that is never refilled. A quota last refilled
// before it is refilled at its next use.
func (q *Quota) PeriodStart(now time.Time) time.Time {
	now = now.UTC()
	switch q.Refill {
	case Daily:
		return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	case Monthly:
		return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// nextPeriod returns when the period that now is in ends, or the zero time
// for a quota that is never refilled.
func (q *Quota) nextPeriod(now time.Time) time.Time {
	start := q.PeriodStart(now)
	switch q.Refill {
	case Daily:
		return start.AddDate(0, 0, 1)
	case Monthly:
		return start.AddDate(0, 1, 0)
	}
	return time.Time{}
}

// QuotaSpender is a Store that can spend a token's quota. The Service needs
// it to issue tokens with a Quota; a wrapper such as the cache forwards it.
type QuotaSpender interface {
	// SpendQuota spends one use of the quota of the token id, first
	// refilling it to its limit if it was last refilled before
	// periodStart (the zero time: never), and stamping the refill with
	// now. It returns the uses left, ErrQuotaExhausted when none are, or
	// ErrNotFound. The check and the spending are one atomic step: of
	// concurrent calls, on any number of instances, at most as many
	// succeed as there were uses left.
	SpendQuota(ctx context.Context, id string, now, periodStart time.Time) (remaining int64, err error)
}

// Bounds of policies: wide enough for any use, narrow enough that a typo
// does not store nonsense.
const (
	maxAllowedIPs      = 100
	maxRateLimitWindow = 24 * time.Hour
	maxRateRequests    = 1_000_000_000
	maxQuota           = 1 << 53 // exact in JSON numbers
)

// PolicyParams are a Policy as the Service's callers give it: addresses as
// text, so that a bad one is a validation error naming it.
type PolicyParams struct {
	Disabled   *bool      `json:"disabled"`
	AllowedIPs []string   `json:"allowedIPs"` // non-nil replaces; empty clears
	RateLimit  *RateLimit `json:"rateLimit"`  // Requests 0 clears
	Quota      *Quota     `json:"quota"`      // Limit 0 clears; another limit or refill starts it full; Remaining and RefilledAt are ignored
}

// applyPolicy makes the changes of p to t's Policy as of now, checking them
// into v.
func (s *Service) applyPolicy(t *Token, p PolicyParams, now time.Time, v *ValidationError) {
	if p.Disabled != nil {
		t.Disabled = *p.Disabled
	}
	if p.AllowedIPs != nil {
		t.AllowedIPs = parsePrefixes(p.AllowedIPs, v)
	}
	if r := p.RateLimit; r != nil {
		switch w := time.Duration(r.Window); {
		case r.Requests == 0:
			t.RateLimit = nil
		case r.Requests < 0 || r.Requests > maxRateRequests:
			v.add("rateLimit", fmt.Sprintf("rateLimit.requests must be between 1 and %d", maxRateRequests))
		case w < time.Second || w > maxRateLimitWindow || w%time.Second != 0:
			v.add("rateLimit", "rateLimit.window must be a whole number of seconds between 1 s and 24 h, in milliseconds")
		default:
			t.RateLimit = &RateLimit{Requests: r.Requests, Window: r.Window}
		}
	}
	if q := p.Quota; q != nil {
		switch {
		case q.Limit == 0:
			t.Quota = nil
		case q.Limit < 0 || q.Limit > maxQuota:
			v.add("quota", fmt.Sprintf("quota.limit must be between 1 and %d", int64(maxQuota)))
		case q.Refill != NoRefill && q.Refill != Daily && q.Refill != Monthly:
			v.add("quota", `quota.refill must be "daily", "monthly" or empty`)
		case s.spender == nil:
			v.add("quota", "this token store cannot keep usage quotas")
		case t.Quota != nil && t.Quota.Limit == q.Limit && t.Quota.Refill == q.Refill:
			// The quota as it is, written back by a caller that read
			// the token: what is spent stays spent.
		default:
			t.Quota = &Quota{Limit: q.Limit, Refill: q.Refill, Remaining: q.Limit, RefilledAt: now}
		}
	}
}

// parsePrefixes parses addresses and networks, a single address standing
// for its own /32 or /128, into masked prefixes.
func parsePrefixes(ss []string, v *ValidationError) []netip.Prefix {
	if len(ss) > maxAllowedIPs {
		v.add("allowedIPs", fmt.Sprintf("allowedIPs may hold at most %d networks", maxAllowedIPs))
		return nil
	}
	ps := make([]netip.Prefix, 0, len(ss))
	var bad []string
	for _, s := range ss {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				bad = append(bad, truncate(s, 50))
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		ps = append(ps, unmapPrefix(p))
	}
	if len(bad) > 0 {
		v.add("allowedIPs", "not an IP address or network: "+strings.Join(bad, ", "))
		return nil
	}
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// unmapPrefix returns p masked, and as IPv4 if it is IPv4-mapped IPv6, as
// client addresses are compared.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() {
		p = netip.PrefixFrom(a.Unmap(), max(p.Bits()-96, 0))
	}
	return p.Masked()
}

// IsZero reports whether p restricts nothing, which a token without a
// policy answers with four loads.
func (p *Policy) IsZero() bool {
	return !p.Disabled && len(p.AllowedIPs) == 0 && p.RateLimit == nil && p.Quota == nil
}

// allowsAddr reports whether a is in one of AllowedIPs.
func (p *Policy) allowsAddr(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	for _, n := range p.AllowedIPs {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// clonePolicy returns a deep copy of p.
func clonePolicy(p Policy) Policy {
	if p.AllowedIPs != nil {
		p.AllowedIPs = append([]netip.Prefix{}, p.AllowedIPs...)
	}
	if p.RateLimit != nil {
		r := *p.RateLimit
		p.RateLimit = &r
	}
	if p.Quota != nil {
		q := *p.Quota
		p.Quota = &q
	}
	return p
}
