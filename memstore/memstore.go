// Package memstore keeps API tokens in memory. It suits tests and single-process
// servers that can lose their tokens on restart.
package memstore

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-apitoken/apitoken"
)

// Store is an in-memory apitoken.Store. It is safe for concurrent use; the
// zero value is not ready, use New.
//
// Stored tokens are never modified in place: every change replaces the token,
// so GetByHash can hand out the stored value without copying it.
type Store struct {
	mu     sync.RWMutex
	byID   map[string]*entry
	byHash map[apitoken.Hash]*entry
	byName map[string]*entry
	feed   feed // changes, for WatchChanges

	notices map[notice]bool      // given, for ClaimNotice
	rates   apitoken.MemoryRates // for TakeRate
}

type entry struct {
	token *apitoken.Token // replaced, never modified
	hash  apitoken.Hash

	// The previous key, still valid until prevUntil, after a graceful
	// regeneration.
	prev      apitoken.Hash
	prevUntil time.Time
}

var _ apitoken.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	s := &Store{
		byID:   make(map[string]*entry),
		byHash: make(map[apitoken.Hash]*entry),
		byName: make(map[string]*entry),
	}
	s.feed.init()
	return s
}

// Create implements apitoken.Store.
func (s *Store) Create(ctx context.Context, t *apitoken.Token, hash apitoken.Hash) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byName[t.Name]; ok {
		return apitoken.ErrNameTaken
	}
	if _, ok := s.byID[t.ID]; ok {
		return errDuplicate("id")
	}
	if _, ok := s.byHash[hash]; ok {
		return errDuplicate("key hash")
	}
	e := &entry{token: normalize(t), hash: hash}
	e.token.PreviousKeyExpiresAt, e.token.PreviousSaltID = nil, "" // a new token has no previous key
	s.byID[t.ID] = e
	s.byHash[hash] = e
	s.byName[t.Name] = e
	s.record(t.ID, hash)
	return nil
}

// Get implements apitoken.Store.
func (s *Store) Get(ctx context.Context, id string) (*apitoken.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.byID[id]
	if !ok {
		return nil, apitoken.ErrNotFound
	}
	return e.token.Clone(), nil
}

// GetByHash implements apitoken.Store. The token it returns is shared.
func (s *Store) GetByHash(ctx context.Context, hash apitoken.Hash) (*apitoken.Token, error) {
	s.mu.RLock()
	e, ok := s.byHash[hash]
	if !ok {
		s.mu.RUnlock()
		return nil, apitoken.ErrNotFound
	}
	t := e.token
	if hash != e.hash {
		// The previous key: it expires at its deadline at the latest.
		t = t.Clone()
		if t.ExpiresAt == nil || t.ExpiresAt.After(e.prevUntil) {
			until := e.prevUntil // not a pointer into e, which changes
			t.ExpiresAt = &until
		}
	}
	s.mu.RUnlock()
	return t, nil
}

// List implements apitoken.Store.
func (s *Store) List(ctx context.Context) ([]*apitoken.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	list := make([]*apitoken.Token, 0, len(s.byID))
	for _, e := range s.byID {
		list = append(list, e.token.Clone())
	}
	s.mu.RUnlock()
	slices.SortFunc(list, func(a, b *apitoken.Token) int { return strings.Compare(a.Name, b.Name) })
	return list, nil
}

// Update implements apitoken.Store. change runs under the store's lock.
func (s *Store) Update(ctx context.Context, id string, change func(*apitoken.Token) error) (*apitoken.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	if !ok {
		return nil, apitoken.ErrNotFound
	}
	old := e.token
	u := old.Clone()
	if err := change(u); err != nil {
		return nil, err
	}
	if other, ok := s.byName[u.Name]; ok && other != e {
		return nil, apitoken.ErrNameTaken
	}
	u = normalize(u)
	u.ID, u.CreatedAt, u.LastUsedAt = old.ID, old.CreatedAt, old.LastUsedAt
	u.EncryptedKey, u.SaltID, u.KeyHint = old.EncryptedKey, old.SaltID, old.KeyHint
	u.Kind, u.Owner = old.Kind, old.Owner
	u.PreviousKeyExpiresAt, u.PreviousSaltID = cloneTime(old.PreviousKeyExpiresAt), old.PreviousSaltID
	delete(s.byName, old.Name)
	s.byName[u.Name] = e
	e.token = u
	s.record(id, e.hashes()...)
	return u.Clone(), nil
}

// SetKey implements apitoken.Store.
func (s *Store) SetKey(ctx context.Context, id string, k apitoken.NewKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	if !ok {
		return apitoken.ErrNotFound
	}
	if other, ok := s.byHash[k.Hash]; ok && other != e {
		return errDuplicate("key hash")
	}
	if k.IfHash != nil && *k.IfHash != e.hash {
		return apitoken.ErrStale
	}
	s.dropPrevious(e)
	if k.PreviousValidUntil.IsZero() {
		delete(s.byHash, e.hash)
	} else {
		e.prev, e.prevUntil = e.hash, k.PreviousValidUntil.UTC()
	}
	e.hash = k.Hash
	s.byHash[k.Hash] = e
	u := e.token.Clone()
	u.PreviousKeyExpiresAt, u.PreviousSaltID = nil, ""
	if !e.prevUntil.IsZero() {
		until := e.prevUntil
		u.PreviousKeyExpiresAt, u.PreviousSaltID = &until, e.token.SaltID // the old key's salt
	}
	u.UpdatedAt = k.UpdatedAt.UTC()
	u.EncryptedKey, u.SaltID, u.KeyHint = k.EncryptedKey, k.SaltID, k.KeyHint
	e.token = u
	s.record(id, e.hashes()...)
	return nil
}

// MoveKey implements apitoken.Store.
func (s *Store) MoveKey(ctx context.Context, id string, from, to apitoken.Hash, saltID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	if !ok || e.hash != from {
		return apitoken.ErrNotFound
	}
	if other, ok := s.byHash[to]; ok && other != e {
		return errDuplicate("key hash")
	}
	delete(s.byHash, from)
	e.hash = to
	s.byHash[to] = e
	u := e.token.Clone()
	u.SaltID = saltID
	e.token = u
	s.record(id, e.hashes()...)
	return nil
}

// Delete implements apitoken.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	if !ok {
		return apitoken.ErrNotFound
	}
	delete(s.byID, id)
	delete(s.byHash, e.hash)
	s.dropPrevious(e)
	delete(s.byName, e.token.Name)
	s.record(id)
	return nil
}

// dropPrevious forgets e's previous key.
func (s *Store) dropPrevious(e *entry) {
	if !e.prevUntil.IsZero() {
		delete(s.byHash, e.prev)
		e.prev, e.prevUntil = apitoken.Hash{}, time.Time{}
	}
}

// Touch implements apitoken.Store.
func (s *Store) Touch(ctx context.Context, id string, at, notAfter time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	if !ok {
		return false, nil
	}
	if last := e.token.LastUsedAt; last != nil && last.After(notAfter) {
		return false, nil
	}
	u := e.token.Clone()
	at = at.UTC()
	u.LastUsedAt = &at
	e.token = u
	return true, nil
}

// normalize returns a copy of t with its times in UTC.
func normalize(t *apitoken.Token) *apitoken.Token {
	c := t.Clone()
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	for _, p := range []*time.Time{c.ExpiresAt, c.LastUsedAt, c.PreviousKeyExpiresAt} { // Clone's own copies
		if p != nil {
			*p = p.UTC()
		}
	}
	if c.Quota != nil {
		c.Quota.RefilledAt = c.Quota.RefilledAt.UTC()
	}
	return c
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

type errDuplicate string

func (e errDuplicate) Error() string { return "memstore: duplicate " + string(e) }

var _ apitoken.QuotaSpender = (*Store)(nil)

// SpendQuota implements apitoken.QuotaSpender. A token without a quota is
// not limited: it returns -1 uses left.
func (s *Store) SpendQuota(ctx context.Context, id string, now, periodStart time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	if !ok {
		return 0, apitoken.ErrNotFound
	}
	if e.token.Quota == nil {
		return -1, nil
	}
	u := e.token.Clone()
	q := u.Quota
	if periodStart.After(q.RefilledAt) {
		q.Remaining, q.RefilledAt = q.Limit, now.UTC()
	}
	if q.Remaining <= 0 {
		return 0, apitoken.ErrQuotaExhausted
	}
	q.Remaining--
	e.token = u
	return q.Remaining, nil
}

var _ apitoken.NoticeClaimer = (*Store)(nil)

// ClaimNotice implements apitoken.NoticeClaimer.
func (s *Store) ClaimNotice(ctx context.Context, id string, expiresAt time.Time, kind apitoken.EventKind) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := notice{id, expiresAt.UnixMilli(), kind}
	if s.notices[k] {
		return false, nil
	}
	if s.notices == nil {
		s.notices = make(map[notice]bool)
	}
	s.notices[k] = true
	return true, nil
}

// notice names one expiry notice of one token.
type notice struct {
	id        string
	expiresAt int64 // Unix milliseconds
	kind      apitoken.EventKind
}
