package apitoken

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Lookup returns the token whose key is key, as the store has it, without
// the checks of a request: an expired or disabled token is returned without
// error, no Policy applies (no address check; no rate limit or quota is
// spent), no use is recorded, no audit event is given, and a key found
// under one of Config.PreviousSalts is not moved to the current salt. It is
// for acting on a key rather than admitting it, such as revoking a leaked
// key (RevokeLeaked); never let a request through on its answer.
//
// It returns ErrInvalidKey when no token has the key (the previous key of a
// regeneration counts while its overlap lasts), and ErrUnavailable when the
// store cannot be asked. The token is a copy, the caller's to change.
func (s *Service) Lookup(ctx context.Context, key string) (*Token, error) {
	t, err := s.lookupKey(ctx, key)
	if err == nil && t.deadPreviousKey(s.now()) {
		return nil, ErrInvalidKey
	}
	return t, err
}

// lookupKey is Lookup that also returns the token of a key a regeneration
// replaced, whose overlap has ended (Token.deadPreviousKey).
func (s *Service) lookupKey(ctx context.Context, key string) (*Token, error) {
	if !s.plausibleKey(key) {
		return nil, ErrInvalidKey
	}
	sum := s.hasher.Sum(key)
	t, err := s.lookup(ctx, sum)
	if errors.Is(err, ErrNotFound) && len(s.previous) > 0 {
		ctx, cancel := s.bounded(ctx)
		t, _, _, err = s.findPrevious(ctx, key, sum)
		cancel()
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrInvalidKey
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return t.Clone(), nil
}

// EventLeakedOldKey: a key that a regeneration replaced, and that no
// longer works, was reported leaked (RevokeLeaked). The token is left as
// it is, since its current key is another; the event names where the old
// key was found, so that the admins can judge whether the new one went
// the same way.
const EventLeakedOldKey EventKind = "leaked-old-key"

// Leak says where a leaked key was found, for RevokeLeaked.
type Leak struct {
	// Where names where the key was found, such as the URL a secret
	// scanner reported. It goes in the EventLeaked event, cut to
	// maxLeakWhere bytes, with any copy of the key in it masked.
	Where string
	// Client is the address of whoever reported the leak, if known.
	Client string
	// Disable disables the token (Policy.Disabled) instead of deleting
	// it, so that its owner and the admins can see what happened and
	// enable it again if they must. A token that cannot be disabled, in
	// a store that cannot keep policies (strapistore) or because it no
	// longer passes validation, is deleted instead: a leaked key must die
	// either way.
	Disable bool
}

// maxLeakWhere bounds Leak.Where in the audit record.
const maxLeakWhere = 500

// RevokeLeaked deletes, or with leak.Disable disables, the token whose key
// is key, which was found where it should not be, and records EventLeaked
// naming leak.Where (besides the EventDeleted or EventUpdated of the
// change). The token is found with Lookup, so an expired or disabled token
// is revoked too, and whichever key of it leaked (during a regeneration's
// overlap, the old or the new) the whole token is revoked. A token that is
// already disabled is not written again, and one deleted meanwhile by
// someone else counts as revoked. A key that a regeneration replaced and
// that no longer works revokes nothing: it records EventLeakedOldKey, and
// RevokeLeaked returns ErrInvalidKey as for any key that opens nothing.
//
// It returns the token as found, before the change; ErrInvalidKey when no
// token has the key; ErrUnavailable when the store cannot be asked or
// fails to make the change. Neither the key nor any part of it reaches the
// log or the returned error.
func (s *Service) RevokeLeaked(ctx context.Context, key string, leak Leak) (*Token, error) {
	t, err := s.lookupKey(ctx, key)
	if err != nil {
		return nil, err
	}
	kind := EventLeaked
	if t.deadPreviousKey(s.now()) {
		kind = EventLeakedOldKey
	} else if err := s.revoke(ctx, t, leak.Disable); err != nil {
		return nil, err
	}
	where := leak.Where
	if key != "" {
		where = strings.ReplaceAll(where, key, "[key]")
	}
	s.emit(ctx, slog.LevelWarn, Event{
		Kind: kind, Time: s.now(), TokenID: t.ID, TokenName: t.Name,
		Client: leak.Client, Where: truncate(where, maxLeakWhere),
	})
	if kind == EventLeakedOldKey {
		return nil, ErrInvalidKey
	}
	return t, nil
}

// revoke deletes t, or disables it, falling back to deleting it when it
// cannot be disabled. A token already gone is not an error.
func (s *Service) revoke(ctx context.Context, t *Token, disable bool) error {
	var err error
	if disable {
		if t.Disabled {
			return nil
		}
		on := true
		_, err = s.Update(ctx, t.ID, UpdateParams{PolicyParams: PolicyParams{Disabled: &on}})
		if !errors.Is(err, ErrValidation) {
			return revoked(err)
		}
		// The store cannot keep policies, or the token no longer
		// passes validation (a name or permission refused since it
		// was made): the key must die all the same.
	}
	_, err = s.Delete(ctx, t.ID)
	return revoked(err)
}

// revoked returns err of a revocation: nil for a token already gone, and
// ErrUnavailable for anything else, since the key may still work.
func revoked(err error) error {
	switch {
	case err == nil, errors.Is(err, ErrNotFound):
		return nil
	case errors.Is(err, ErrUnavailable):
		return err
	}
	return fmt.Errorf("%w: revoking the token: %w", ErrUnavailable, err)
}
