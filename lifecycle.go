package apitoken

import (
	"context"
	"errors"
	"time"
)

// Expiring returns the tokens that expire within the given time from now,
// and have not expired yet, sorted by name: the ones to renew soon.
func (s *Service) Expiring(ctx context.Context, within time.Duration) ([]*Token, error) {
	now := s.now()
	return s.filter(ctx, func(t *Token) bool {
		return t.ExpiresAt != nil && !t.Expired(now) && t.ExpiresAt.Sub(now) <= within
	})
}

// Idle returns the tokens not used for at least the given time, sorted by
// name: those used last that long ago, and those never used that were
// created that long ago.
func (s *Service) Idle(ctx context.Context, unusedFor time.Duration) ([]*Token, error) {
	if err := positive(unusedFor); err != nil {
		return nil, err
	}
	cutoff := s.now().Add(-unusedFor)
	return s.filter(ctx, func(t *Token) bool { return t.UnusedSince(cutoff) })
}

// UnusedSince reports whether t was last used, or if never used created, no
// later than cutoff: Service.Idle's rule, for lists that filter themselves.
func (t *Token) UnusedSince(cutoff time.Time) bool {
	last := t.CreatedAt
	if t.LastUsedAt != nil {
		last = *t.LastUsedAt
	}
	return !last.After(cutoff)
}

// RevokeIdle deletes the tokens Idle returns, each after checking that it
// is still idle (a use recorded meanwhile spares it), and returns those it
// deleted. Nothing revokes idle tokens unless a caller asks: GitHub revokes
// tokens unused for a year, but a token used once a year may be one that
// matters. It stops at the first failure, returning what it deleted.
func (s *Service) RevokeIdle(ctx context.Context, unusedFor time.Duration) ([]*Token, error) {
	if err := positive(unusedFor); err != nil {
		return nil, err
	}
	if err := s.Flush(ctx); err != nil { // uses noted here are not lost to the check
		return nil, err
	}
	idle, err := s.Idle(ctx, unusedFor)
	if err != nil {
		return nil, err
	}
	cutoff := s.now().Add(-unusedFor)
	var revoked []*Token
	for _, t := range idle {
		cur, err := s.Get(ctx, t.ID)
		switch {
		case errors.Is(err, ErrNotFound):
			continue
		case err != nil:
			return revoked, err
		case !cur.UnusedSince(cutoff):
			continue
		}
		if _, err := s.Delete(ctx, t.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return revoked, err
		}
		revoked = append(revoked, cur)
	}
	return revoked, nil
}

// filter returns the tokens keep keeps.
func (s *Service) filter(ctx context.Context, keep func(*Token) bool) ([]*Token, error) {
	list, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for _, t := range list {
		if keep(t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// positive refuses an idle time that is not positive, which would make
// every token idle, including one used a moment ago.
func positive(unusedFor time.Duration) error {
	if unusedFor > 0 {
		return nil
	}
	v := &ValidationError{}
	v.add("unusedFor", "the idle time must be positive")
	return v
}
