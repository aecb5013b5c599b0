package apitoken

import (
	"context"
	"errors"
	"time"
)

// verifyPrevious looks key up under the previous salts, and moves the hash
// of a key it finds to the current salt.
//
// Only a current key that has not expired is moved. A match of a previous
// key (the old key of a graceful regeneration) is answered, with the
// expiry the store gave it, but never moved: the move would make it the
// current key again. A token whose current key is on another salt than
// the one that found it was found by its previous key, so no move is
// tried: it would fail, at the cost of a write (and of a cache's copy of
// the token) on every use of the old key during its overlap; so is a token
// the store returned as found by its previous key. The move is
// a compare-and-swap in the store, so a key regenerated away between the
// lookup and the move stays dead. When the move loses, the key is looked
// up again, first under the current salt (another request moved it) and
// then under the old one (a previous key), so that this answer is the
// store's new one too. A key found under no salt is looked up under the
// current one again, in case another request moved it meanwhile.
//
// sum is the key's hash under the current salt, which Verify has made.
func (s *Service) verifyPrevious(ctx context.Context, key string, sum Hash) (*Token, error) {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	t, from, salt, err := s.findPrevious(ctx, key, sum)
	if err != nil || from == sum || t.Expired(s.now()) || (t.SaltID != salt && t.SaltID != "") || t.byPreviousKey() {
		return t, err
	}
	err = s.store.MoveKey(ctx, t.ID, from, sum, s.hasher.ID())
	switch {
	case err == nil:
		s.event(ctx, EventSaltMoved, t, nil, caller{})
	case errors.Is(err, ErrNotFound):
		if t, err = s.store.GetByHash(ctx, sum); !errors.Is(err, ErrNotFound) {
			return t, err
		}
		return s.store.GetByHash(ctx, from)
	default:
		s.log.Warn("apitoken: moving a token to the current salt failed; will retry on next use", "token", t, "err", err)
	}
	return t, nil
}

// findPrevious looks key up under the previous salts, and returns the token
// with the hash it was found by and that salt's id; then, not found under
// any, once more under the current one (sum), in case a request moved it
// meanwhile.
func (s *Service) findPrevious(ctx context.Context, key string, sum Hash) (*Token, Hash, string, error) {
	for _, h := range s.previous {
		from := h.Sum(key)
		if t, err := s.store.GetByHash(ctx, from); !errors.Is(err, ErrNotFound) {
			return t, from, h.ID(), err
		}
	}
	t, err := s.store.GetByHash(ctx, sum)
	return t, sum, s.hasher.ID(), err
}

// RevealKey returns the key of a token again, from its encrypted copy. It
// returns ErrNotFound, or ErrNotRecoverable when there is no copy or
// Config.EncryptionKey cannot decrypt it.
func (s *Service) RevealKey(ctx context.Context, id string) (string, error) {
	t, err := s.store.Get(ctx, id)
	if err != nil {
		return "", unavailable(err)
	}
	if t.EncryptedKey == "" || s.cipher == nil {
		return "", ErrNotRecoverable
	}
	return s.cipher.decrypt(t.EncryptedKey)
}

// CanReveal reports whether RevealKey can work: an encryption key is set.
func (s *Service) CanReveal() bool { return s.cipher != nil }

// SaltCounts says how many tokens are on which salt: see CountBySalt, and
// CountSalts, which tells configured previous salts from unknown ones and
// says until when previous keys need them. A token is counted under each
// salt that a working key of it needs (see SaltReport), so the counts may
// add up to more than the tokens.
type SaltCounts struct {
	Current  int // hashed with Config.Salt
	Previous int // hashed with another salt, e.g. one of PreviousSalts
	Unknown  int // hashed before salts were identified, e.g. by Strapi
}

// CountBySalt counts tokens by the salts of their stored hashes, so that a
// previous salt can be dropped once no token uses it. A token's current key
// moves to the current salt the first time it is used after a rotation;
// the previous key of a graceful regeneration never moves, and keeps its
// salt in use until it stops working (by the Service's Clock). A previous
// key that stopped working keeps no salt in use: once its salt is dropped,
// its reuse is refused as an unknown key, without EventKeyReused.
func (s *Service) CountBySalt(ctx context.Context) (SaltCounts, error) {
	r, err := countSalts(ctx, s.store, s.hasher, s.previous, s.now())
	if err != nil {
		return SaltCounts{}, unavailable(err)
	}
	c := SaltCounts{Current: r.Current, Unknown: r.Unidentified}
	for _, n := range r.Previous {
		c.Previous += n
	}
	for _, n := range r.Unknown {
		c.Previous += n
	}
	return c, nil
}

func (s *Service) newKey() string { return newKey(s.keyFormat, s.keyPrefix) }

func (s *Service) encrypt(key string) string {
	if s.cipher == nil {
		return ""
	}
	return s.cipher.encrypt(key)
}

// deadPreviousKey reports whether t, as GetByHash returned it, was found by
// its previous key after that key's overlap ended: the store then caps
// ExpiresAt at the overlap's end, which has passed. Such a key was rotated
// away; it is refused as unknown, and may not revoke the token.
func (t *Token) deadPreviousKey(now time.Time) bool {
	return t.byPreviousKey() && !now.Before(*t.PreviousKeyExpiresAt)
}

// byPreviousKey reports whether t, as GetByHash returned it, was found by
// its previous key: the store caps ExpiresAt at the previous key's end,
// which a regeneration puts strictly before the token's own expiry.
func (t *Token) byPreviousKey() bool {
	p := t.PreviousKeyExpiresAt
	return p != nil && t.ExpiresAt != nil && !t.ExpiresAt.After(*p)
}
