package apitoken

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Store returns the store the Service keeps its tokens in.
func (s *Service) Store() Store { return s.store }

// Actions returns the registry of actions that tokens may be granted.
func (s *Service) Actions() *Registry { return s.actions }

// Now returns the time by the Service's clock (Config.Clock).
func (s *Service) Now() time.Time { return s.now() }

// Durations returns the lifespans a token may be given.
func (s *Service) Durations() []Duration { return s.durations }

// Close flushes recorded token use to the store and stops the background
// writer and expiry check. ctx bounds the flush.
func (s *Service) Close(ctx context.Context) error {
	s.closeNotices()
	return s.touches.close(ctx)
}

// Flush writes recorded token use to the store now.
func (s *Service) Flush(ctx context.Context) error { return s.touches.flush(ctx) }

// CreateParams describe a new token.
type CreateParams struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Type        Type     `json:"type"`     // default ReadOnly
	Lifespan    Duration `json:"lifespan"` // default Unlimited
	Permissions []string `json:"permissions"`
	PolicyParams

	// Kind is the token's kind; default KindContentAPI. An admin token
	// (KindAdmin) needs Owner, is Custom (the default for it), and is
	// granted admin permissions within Config.OwnerPermissions(Owner).
	// Neither is read from JSON: the caller decides them (the admin API
	// from its route and the administrator asking), never a request body.
	Kind  Kind   `json:"-"`
	Owner string `json:"-"`
}

// Create issues a token and returns it with its key, which is not stored and
// cannot be had again. It returns a *ValidationError (ErrValidation, and
// ErrNameTaken for a taken name).
func (s *Service) Create(ctx context.Context, p CreateParams) (*Token, string, error) {
	now := s.stamp()
	t := &Token{
		ID:          uuid.NewString(),
		Name:        p.Name,
		Description: p.Description,
		Type:        p.Type,
		Lifespan:    p.Lifespan,
		Permissions: p.Permissions,
		CreatedAt:   now,
		UpdatedAt:   now,
		SaltID:      s.hasher.ID(),
		Kind:        p.Kind,
		Owner:       p.Owner,
	}
	switch {
	case t.Kind == "":
		t.Kind = KindContentAPI
	case t.Kind == KindAdmin && t.Type == "":
		t.Type = Custom
	}
	if t.Type == "" {
		t.Type = ReadOnly
	}
	v := &ValidationError{}
	var ceiling []string
	if t.Kind == KindAdmin {
		var err error
		if ceiling, err = s.grantCeiling(ctx, t, v); err != nil {
			return nil, "", err
		}
	}
	s.applyPolicy(t, p.PolicyParams, now, v)
	if err := s.validate(t, &t.Lifespan, ceiling, v); err != nil {
		return nil, "", err
	}
	t.ExpiresAt = expiry(now, t.Lifespan)
	key := s.newKey()
	t.EncryptedKey = s.encrypt(key)
	t.KeyHint = keyHint(key)
	if err := s.store.Create(ctx, t, s.hasher.Sum(key)); err != nil {
		if t.Kind == KindAdmin && t.Policy.IsZero() && errors.Is(err, errors.ErrUnsupported) {
			v := &ValidationError{cause: err}
			v.add("kind", "this token store cannot keep admin tokens")
			return nil, "", v
		}
		return nil, "", unsupported(nameTaken(unavailable(err)))
	}
	s.event(ctx, EventCreated, t, nil, caller{})
	if t.Kind == KindAdmin {
		t = s.reclamp(ctx, t) // as after an update: the owner's loss may have come meanwhile
	}
	return t, key, nil
}

// Get returns the token with the given id, or ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (*Token, error) {
	t, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, unavailable(err)
	}
	s.pastOverlap(t)
	return t, nil
}

// pastOverlap forgets t's previous key once it has stopped working.
func (s *Service) pastOverlap(t *Token) {
	if t.PreviousKeyExpiresAt != nil && !s.now().Before(*t.PreviousKeyExpiresAt) {
		t.PreviousKeyExpiresAt = nil
	}
}

// List returns every token, sorted by name.
func (s *Service) List(ctx context.Context) ([]*Token, error) {
	list, err := s.store.List(ctx)
	if err != nil {
		return nil, unavailable(err)
	}
	for _, t := range list {
		s.pastOverlap(t)
	}
	return list, nil
}

// UpdateParams change a token; nil fields stay as they are. A non-nil
// Permissions, even empty, replaces the list. Setting Lifespan restarts the
// token's life: the new expiry counts from now, and Unlimited clears it.
// Changing to a type other than Custom drops the permissions.
type UpdateParams struct {
	Name        *string   `json:"name"`
	Description *string   `json:"description"`
	Type        *Type     `json:"type"`
	Lifespan    *Duration `json:"lifespan"`
	Permissions []string  `json:"permissions"`
	PolicyParams

	// IfVersion, when not empty, makes the update happen only if the
	// token's Version is still one of these, for callers that read a
	// token, change it and write it all back (the admin API's If-Match).
	IfVersion []string `json:"-"`
}

// Update changes the fields of a token that p sets, and no others, and
// returns the token. The change is atomic in the store, so concurrent
// updates of different fields never undo each other. It returns
// ErrNotFound, ErrStale, or a *ValidationError; the lifespan of an expired
// token cannot be changed.
func (s *Service) Update(ctx context.Context, id string, p UpdateParams) (*Token, error) {
	// The time is taken when the store has the token, not before: an
	// update that waited for another must see an expiry that passed
	// meanwhile. Permissions granted to an admin token are checked
	// against its owner's, which are asked outside the store's
	// transaction: the first try returns needCeiling, and the second has
	// them (an owner never changes).
	var ceiling []string
	change := func(t *Token) error {
		if t.Kind == KindAdmin && p.Permissions != nil && ceiling == nil {
			return needCeiling{t.Clone()}
		}
		return s.apply(t, p, s.stamp(), ceiling)
	}
	t, err := s.store.Update(ctx, id, change)
	if nc := (needCeiling{}); errors.As(err, &nc) {
		v := &ValidationError{}
		if ceiling, err = s.grantCeiling(ctx, nc.t, v); err != nil {
			return nil, err
		}
		if err := v.orNil(); err != nil {
			return nil, err
		}
		t, err = s.store.Update(ctx, id, change)
		if err == nil {
			t = s.reclamp(ctx, t)
		}
	}
	if err != nil {
		return nil, unsupported(nameTaken(unavailable(err)))
	}
	s.event(ctx, EventUpdated, t, nil, caller{})
	return t, nil
}

// needCeiling stops an update of admin token t's permissions until its
// owner's have been asked.
type needCeiling struct{ t *Token }

func (needCeiling) Error() string { return "apitoken: the owner's permissions are needed" }

// apply makes the changes of p to t, as they stand at now, granting an
// admin token permissions within ceiling.
func (s *Service) apply(t *Token, p UpdateParams, now time.Time, ceiling []string) error {
	if len(p.IfVersion) > 0 && !slices.Contains(p.IfVersion, t.Version()) {
		return ErrStale
	}
	if p.Lifespan != nil && t.Expired(now) {
		// Giving an expired token a new life would revive a key that
		// its holders, and the admins, consider dead.
		v := &ValidationError{}
		v.add("lifespan", "the token has expired, so its lifespan can no longer be changed; create a new token instead")
		return v
	}
	if p.Name != nil {
		t.Name = *p.Name
	}
	if p.Description != nil {
		t.Description = *p.Description
	}
	if p.Type != nil {
		t.Type = *p.Type
	}
	switch {
	case p.Permissions != nil:
		t.Permissions = p.Permissions
	case t.Type != Custom:
		t.Permissions = nil
	}
	v := &ValidationError{}
	s.applyPolicy(t, p.PolicyParams, now, v)
	if err := s.validate(t, p.Lifespan, ceiling, v); err != nil {
		return err
	}
	if p.Lifespan != nil {
		t.Lifespan = *p.Lifespan
		t.ExpiresAt = expiry(now, t.Lifespan)
	}
	t.UpdatedAt = now
	return nil
}

// Regenerate gives a token a new key, which it returns, and makes the old key
// fail at once. Expiry, lifespan, permissions and last use stay as they were.
// It returns ErrNotFound.
func (s *Service) Regenerate(ctx context.Context, id string) (*Token, string, error) {
	return s.RegenerateWithOverlap(ctx, id, 0)
}

// RegenerateWithOverlap is Regenerate that keeps the old key working for
// overlap (but never past the token's expiry), so that clients can switch to
// the new key without downtime. Regenerating again ends the earlier overlap.
//
// A token that has expired starts a new life instead, as GitHub's expired
// tokens do when regenerated: its expiry counts its lifespan again from now,
// since a new key that is dead on arrival would be of no use. Its old key
// stays dead: there is no overlap.
func (s *Service) RegenerateWithOverlap(ctx context.Context, id string, overlap time.Duration) (*Token, string, error) {
	return s.regenerate(ctx, id, overlap, nil)
}

// regenerate is RegenerateWithOverlap, on the condition that the token's
// key hash is still *ifHash when that is set (else ErrStale).
func (s *Service) regenerate(ctx context.Context, id string, overlap time.Duration, ifHash *Hash) (*Token, string, error) {
	if overlap < 0 || overlap > maxOverlap {
		v := &ValidationError{}
		v.add("overlap", fmt.Sprintf("overlap must be between 0 and %d days", maxOverlap/(24*time.Hour)))
		return nil, "", v
	}
	key := s.newKey()
	now := s.stamp()
	k := NewKey{Hash: s.hasher.Sum(key), EncryptedKey: s.encrypt(key), SaltID: s.hasher.ID(), KeyHint: keyHint(key), UpdatedAt: now,
		IfHash: ifHash}
	cur, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, "", unavailable(err)
	}
	expired := cur.Expired(now)
	if !expired {
		// Without an overlap the old key dies now, but the store keeps
		// its hash as the previous key's, so that its reuse is noticed
		// (EventKeyReused). A store that keeps no previous key drops it.
		// The old key ends strictly before the token does, so that a
		// token found by it is told from one found by its own key
		// (Token.deadPreviousKey).
		k.PreviousValidUntil = now.Add(overlap)
		if e := cur.ExpiresAt; e != nil && !k.PreviousValidUntil.Before(*e) {
			k.PreviousValidUntil = e.Add(-time.Millisecond)
		}
	}
	err = s.store.SetKey(ctx, id, k)
	if errors.Is(err, errors.ErrUnsupported) && overlap == 0 {
		// A store that keeps no previous key (strapistore) has no old
		// key that works, so neither it nor the condition is needed.
		k.PreviousValidUntil, k.IfHash = time.Time{}, nil
		err = s.store.SetKey(ctx, id, k)
	}
	if err != nil {
		return nil, "", unavailable(err)
	}
	// The new key is set before the expiry moves, so that a failure
	// between the two leaves the token expired, never the old key alive.
	var t *Token
	if expired {
		t, err = s.store.Update(ctx, id, func(t *Token) error {
			if t.Expired(now) {
				t.ExpiresAt = expiry(now, t.Lifespan)
				t.UpdatedAt = now
			}
			return nil
		})
	} else {
		t, err = s.store.Get(ctx, id)
	}
	if err != nil {
		return nil, "", unavailable(err)
	}
	s.pastOverlap(t)
	s.event(ctx, EventRegenerated, t, nil, caller{})
	return t, key, nil
}

// Delete removes a token and returns it as it was. It returns ErrNotFound.
func (s *Service) Delete(ctx context.Context, id string) (*Token, error) {
	t, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, unavailable(err)
	}
	if err := s.store.Delete(ctx, id); err != nil {
		return nil, unavailable(err)
	}
	s.event(ctx, EventDeleted, t, nil, caller{})
	return t, nil
}

// Verify returns the content-API token whose key is key, and records its
// use (an admin token is ErrInvalidKey here; see RequireAdmin). It returns
// ErrInvalidKey for an unknown key, ErrExpired (with the token) for an expired
// one, and ErrUnavailable when the store cannot be asked. The token is a
// copy, the caller's to change.
//
// A token whose Policy limits its addresses is refused with
// ErrAddressNotAllowed, since no request names the client: use Check or
// the middleware. Verify spends a use of the token's rate limit and quota.
func (s *Service) Verify(ctx context.Context, key string) (*Token, error) {
	t, err := s.verify(ctx, key, caller{}, KindContentAPI)
	if err == nil {
		_, err = s.spend(ctx, t)
	}
	return cloned(t, err)
}

// verify is Verify returning the token the store (or its cache) shares with
// every request, which the middleware reads without copying. c is the
// client that presented the key, if known: the audit event of an expired
// key names it. A token of another kind than kind is no key here.
func (s *Service) verify(ctx context.Context, key string, c caller, kind Kind) (*Token, error) {
	if !s.plausibleKey(key) {
		return nil, ErrInvalidKey
	}
	sum, digest, remembered := s.hasher.sum(key, s.memo)
	t, err := s.lookup(ctx, sum)
	switch {
	case s.memo == nil:
	case err == nil && !remembered:
		s.memo.put(digest, sum, t.ExpiresAt)
	case errors.Is(err, ErrNotFound) && remembered:
		s.memo.forget(digest)
	}
	if errors.Is(err, ErrNotFound) && len(s.previous) > 0 {
		t, err = s.verifyPrevious(ctx, key, sum)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, ErrInvalidKey
		}
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	now := s.now()
	if t.deadPreviousKey(now) {
		// A key rotated away is no key of the token's: it says
		// neither that the token exists nor that it expired. Its use
		// is audited, as it may have leaked.
		if s.memo != nil {
			s.memo.forget(digest)
		}
		s.keyReused(ctx, t, c)
		return nil, ErrInvalidKey
	}
	if t.Kind.Resolved() != kind {
		return nil, ErrInvalidKey // another kind's key, or one of a kind unknown here
	}
	if t.Expired(now) {
		if s.memo != nil {
			// The memo vouches for keys to the failure limit: an
			// expired key must not pass it for ever.
			s.memo.forget(digest)
		}
		s.event(ctx, EventExpiredKey, t, ErrExpired, c)
		return t, ErrExpired
	}
	if !t.Policy.IsZero() {
		if err := s.admit(ctx, t, c); err != nil {
			return t, err
		}
	}
	s.touches.note(t, now)
	return t, nil
}

// stamp returns the time to record a change at: now, in UTC, to the
// millisecond that every store keeps.
func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// lookup returns the token of hash: from the store's memory if it is a
// Peeker with the answer, otherwise from GetByHash within LookupTimeout.
func (s *Service) lookup(ctx context.Context, hash Hash) (*Token, error) {
	if s.peeker != nil {
		if t, found, ok := s.peeker.Peek(hash); ok {
			if !found {
				return nil, ErrNotFound
			}
			return t, nil
		}
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	return s.store.GetByHash(ctx, hash)
}

// bounded returns ctx limited to LookupTimeout, if one is set.
func (s *Service) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.lookupTimeout > 0 {
		return context.WithTimeout(ctx, s.lookupTimeout)
	}
	return ctx, func() {}
}

// maxOverlap bounds how long an old key may outlive its regeneration.
const maxOverlap = 30 * 24 * time.Hour

func expiry(from time.Time, d Duration) *time.Time {
	if d == Unlimited {
		return nil
	}
	e := from.Add(time.Duration(d))
	return &e
}

// unavailable marks a store error that is none of the answers the Store
// contract or the Service define as ErrUnavailable: the store could not do
// what was asked (the database is down, hangs past the context's deadline,
// or refused for its own reasons), which callers answer with 503, as the
// middleware does, not as a failure of their own.
func unavailable(err error) error {
	switch {
	case err == nil, errors.Is(err, ErrUnavailable), errors.Is(err, ErrNotFound), errors.Is(err, ErrNameTaken),
		errors.Is(err, ErrValidation), errors.Is(err, ErrStale), errors.Is(err, errors.ErrUnsupported):
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// unsupported turns a store's refusal to keep something (a Policy, on
// strapistore) into a validation error on the policy.
func unsupported(err error) error {
	if !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	v := &ValidationError{cause: err}
	v.add("policy", "this token store cannot keep token policies")
	return v
}

// nameTaken turns the store's ErrNameTaken into a validation error on the name.
func nameTaken(err error) error {
	if !errors.Is(err, ErrNameTaken) {
		return err
	}
	v := &ValidationError{cause: err}
	v.add("name", "Name already taken")
	return v
}
