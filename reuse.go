package apitoken

import (
	"context"
	"errors"
)

// EventKeyReused: a key that a regeneration replaced was used after it
// stopped working (GitLab's token-family reuse detection): it may have
// leaked, or a client was not moved to the new key.
const EventKeyReused EventKind = "key-reused"

// ErrKeyReused is the reason an EventKeyReused names.
var ErrKeyReused = errors.New("apitoken: a replaced key was used again")

// keyReused audits the use of t's previous key after its overlap, and
// with Config.DisableOnReuse disables t, whose current key may be in the
// same hands. Only the latest replaced key of a token is known, and only
// on stores that keep a previous key (strapistore does not).
func (s *Service) keyReused(ctx context.Context, t *Token, c caller) {
	s.event(ctx, EventKeyReused, t, ErrKeyReused, c)
	if !s.disableOnReuse || t.Disabled {
		return
	}
	yes := true
	if _, err := s.Update(context.WithoutCancel(ctx), t.ID, UpdateParams{PolicyParams: PolicyParams{Disabled: &yes}}); err != nil {
		s.log.Warn("apitoken: disabling a token whose replaced key was reused failed", "token", t, "err", err)
	}
}
