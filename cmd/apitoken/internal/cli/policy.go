package cli

import (
	"errors"
	"flag"
	"strconv"
	"strings"
	"time"

	"github.com/go-apitoken/apitoken"
)

// policyFlags are the flags of a token's Policy, shared by create and
// update.
type policyFlags struct {
	disable, enable, anyIP bool
	allowIPs               stringList
	rate, quota            string
}

func (f *policyFlags) declare(fs *flag.FlagSet) {
	fs.BoolVar(&f.disable, "disable", false, "refuse the token's key until --enable")
	fs.BoolVar(&f.enable, "enable", false, "accept a disabled token's key again")
	fs.Var(&f.allowIPs, "allow-ip", "accept the key only from this address or network, e.g. 203.0.113.0/24 (repeatable; replaces the list)")
	fs.BoolVar(&f.anyIP, "allow-any-ip", false, "accept the key from any address (clears --allow-ip)")
	fs.StringVar(&f.rate, "rate-limit", "", "at most N requests per window, e.g. 100/1m, or none")
	fs.StringVar(&f.quota, "quota", "", "a number of uses, refilled daily or monthly if given, e.g. 10000/monthly, or none")
}

// params returns the Policy changes the flags set in fs ask for.
func (f *policyFlags) params(fs *flag.FlagSet) (p apitoken.PolicyParams, changed bool, err error) {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "disable", "enable", "allow-ip", "allow-any-ip", "rate-limit", "quota":
			set[fl.Name] = true
		}
	})
	switch {
	case set["disable"] && set["enable"]:
		return p, false, usageErr{errors.New("--disable and --enable cannot be combined")}
	case set["allow-ip"] && set["allow-any-ip"]:
		return p, false, usageErr{errors.New("--allow-ip and --allow-any-ip cannot be combined")}
	}
	if set["disable"] || set["enable"] {
		disabled := f.disable || !f.enable
		p.Disabled = &disabled
	}
	if set["allow-ip"] {
		p.AllowedIPs = f.allowIPs
	}
	if set["allow-any-ip"] && f.anyIP {
		p.AllowedIPs = []string{}
	}
	if set["rate-limit"] {
		if p.RateLimit, err = parseRate(f.rate); err != nil {
			return p, false, usageErr{err}
		}
	}
	if set["quota"] {
		if p.Quota, err = parseQuota(f.quota); err != nil {
			return p, false, usageErr{err}
		}
	}
	return p, len(set) > 0, nil
}

// parseRate parses N/WINDOW, or none (a zero limit, which clears it).
func parseRate(s string) (*apitoken.RateLimit, error) {
	if s == "none" {
		return &apitoken.RateLimit{}, nil
	}
	n, w, ok := strings.Cut(s, "/")
	requests, err := strconv.Atoi(n)
	if !ok || err != nil || requests <= 0 {
		return nil, errors.New("--rate-limit: want N/WINDOW such as 100/1m, or none")
	}
	if w == "1d" {
		w = "24h"
	}
	window, err := time.ParseDuration(w)
	if err != nil || window <= 0 {
		return nil, errors.New("--rate-limit: want a window such as 1s, 1m, 1h or 1d")
	}
	return &apitoken.RateLimit{Requests: requests, Window: apitoken.Duration(window)}, nil
}

// parseQuota parses N, N/daily or N/monthly, or none (a zero limit, which
// clears it).
func parseQuota(s string) (*apitoken.Quota, error) {
	if s == "none" {
		return &apitoken.Quota{}, nil
	}
	n, refill, _ := strings.Cut(s, "/")
	limit, err := strconv.ParseInt(n, 10, 64)
	if err != nil || limit <= 0 {
		return nil, errors.New("--quota: want a number of uses such as 10000, 10000/daily or 10000/monthly, or none")
	}
	q := &apitoken.Quota{Limit: limit, Refill: apitoken.Refill(refill)}
	if q.Refill != apitoken.NoRefill && q.Refill != apitoken.Daily && q.Refill != apitoken.Monthly {
		return nil, errors.New("--quota: the refill is daily or monthly")
	}
	return q, nil
}
