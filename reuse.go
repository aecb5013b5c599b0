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
	// Straight in the store: a token that no longer passes validation (an
	// action no route declares any more) is disabled all the same, and
	// of concurrent reuses one writes.
	u, err := s.store.Update(context.WithoutCancel(ctx), t.ID, func(t *Token) error {
		if t.Disabled {
			return errAlreadyDisabled
		}
		t.Disabled, t.UpdatedAt = true, s.stamp()
		return nil
	})
	switch {
	case err == nil:
		s.event(ctx, EventUpdated, u, nil, c)
	case !errors.Is(err, errAlreadyDisabled) && !errors.Is(err, ErrNotFound):
		s.log.Warn("apitoken: disabling a token whose replaced key was reused failed", "token", t, "err", err)
	}
}

var errAlreadyDisabled = errors.New("apitoken: already disabled")
