package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
)

// recorder collects what a WatchChanges reports.
type recorder struct {
	mu      sync.Mutex
	changes []apitoken.Change
	started chan struct{}
}

func (r *recorder) changed(c apitoken.Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.Reset && r.started != nil {
		close(r.started)
		r.started = nil
	}
	r.changes = append(r.changes, c)
}

// take returns the changes reported since the last take, but the first
// Reset.
func (r *recorder) take() []apitoken.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs := slices.DeleteFunc(r.changes, func(c apitoken.Change) bool { return c.Reset })
	r.changes = nil
	return cs
}

// watch starts WatchChanges on f until the test ends, and waits for its
// first Reset.
func watch(t *testing.T, f apitoken.ChangeFeed) *recorder {
	t.Helper()
	r := &recorder{started: make(chan struct{})}
	started := r.started
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.WatchChanges(ctx, r.changed) }()
	t.Cleanup(func() {
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled, "WatchChanges returns ctx.Err() when ctx ends")
	})
	select {
	case <-started:
	case err := <-done:
		require.FailNow(t, "WatchChanges ended before its first Reset", "%v", err)
	case <-time.After(30 * time.Second):
		require.FailNow(t, "no Reset from WatchChanges within 30s")
	}
	return r
}

// testChangeFeed checks apitoken.ChangeFeed, for a store that has it: every
// kind of change is reported, after Sync, with the hashes the token has
// after it; KeyHashes lists every current and previous key; Sync without a
// watch fails.
func testChangeFeed(t *testing.T, s apitoken.Store, l limits) {
	f, ok := s.(apitoken.ChangeFeed)
	if !ok {
		t.Skip("the store has no change feed")
	}
	ctx := context.Background()
	assert.Error(t, f.Sync(ctx), "Sync with no WatchChanges running")
	r := watch(t, f)

	hashOf := func(cs []apitoken.Change, id string) [][]apitoken.Hash {
		var hs [][]apitoken.Hash
		for _, c := range cs {
			if c.ID == id {
				hs = append(hs, c.Hashes)
			}
		}
		return hs
	}
	tok, h := newToken("feed", apitoken.ReadOnly), newHash(t)
	require.NoError(t, s.Create(ctx, tok, h))
	require.NoError(t, f.Sync(ctx))
	assert.Equal(t, [][]apitoken.Hash{{h}}, hashOf(r.take(), tok.ID), "Create")

	_, err := s.Update(ctx, tok.ID, func(t *apitoken.Token) error { t.Type = apitoken.FullAccess; return nil })
	require.NoError(t, err)
	require.NoError(t, f.Sync(ctx))
	assert.Equal(t, [][]apitoken.Hash{{h}}, hashOf(r.take(), tok.ID), "Update")

	h2 := newHash(t)
	require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: h2, UpdatedAt: base}))
	require.NoError(t, f.Sync(ctx))
	assert.Equal(t, [][]apitoken.Hash{{h2}}, hashOf(r.take(), tok.ID), "SetKey")

	h3 := newHash(t)
	require.NoError(t, s.MoveKey(ctx, tok.ID, h2, h3, "salt2"))
	require.NoError(t, f.Sync(ctx))
	assert.Equal(t, [][]apitoken.Hash{{h3}}, hashOf(r.take(), tok.ID), "MoveKey")

	ok, err = s.Touch(ctx, tok.ID, base.Add(time.Hour), base.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, f.Sync(ctx))
	assert.Empty(t, hashOf(r.take(), tok.ID), "a use is not a change worth reporting")

	var listed []apitoken.Hash
	require.NoError(t, f.KeyHashes(ctx, func(h apitoken.Hash) { listed = append(listed, h) }))
	assert.Equal(t, []apitoken.Hash{h3}, listed, "KeyHashes")

	require.NoError(t, s.Delete(ctx, tok.ID))
	require.NoError(t, f.Sync(ctx))
	hs := hashOf(r.take(), tok.ID)
	require.Len(t, hs, 1, "Delete")
	assert.Empty(t, hs[0], "a deleted token has no hashes")
}

// testChangeFeedGrace: a graceful regeneration reports both keys, and
// KeyHashes lists the previous key while it is valid.
func testChangeFeedGrace(t *testing.T, s apitoken.Store, l limits) {
	l.need(t, NoPreviousKey)
	f, ok := s.(apitoken.ChangeFeed)
	if !ok {
		t.Skip("the store has no change feed")
	}
	ctx := context.Background()
	r := watch(t, f)
	tok, h := newToken("grace", apitoken.ReadOnly), newHash(t)
	require.NoError(t, s.Create(ctx, tok, h))
	h2 := newHash(t)
	require.NoError(t, s.SetKey(ctx, tok.ID, apitoken.NewKey{Hash: h2, UpdatedAt: base, PreviousValidUntil: time.Now().Add(time.Hour)}))
	require.NoError(t, f.Sync(ctx))
	cs := r.take()
	require.NotEmpty(t, cs)
	assert.ElementsMatch(t, []apitoken.Hash{h2, h}, cs[len(cs)-1].Hashes, "current and previous key")
	var listed []apitoken.Hash
	require.NoError(t, f.KeyHashes(ctx, func(h apitoken.Hash) { listed = append(listed, h) }))
	assert.ElementsMatch(t, []apitoken.Hash{h2, h}, listed)
}

// testChangeFeedSyncRace: changes made concurrently from many goroutines are
// all reported once Sync returns.
func testChangeFeedSyncRace(t *testing.T, s apitoken.Store, l limits) {
	f, ok := s.(apitoken.ChangeFeed)
	if !ok {
		t.Skip("the store has no change feed")
	}
	ctx := context.Background()
	r := watch(t, f)
	const n = 20
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tok := newToken("race"+string(rune('a'+i)), apitoken.ReadOnly)
			ids[i] = tok.ID
			assert.NoError(t, s.Create(ctx, tok, newHash(t)))
		})
	}
	wg.Wait()
	require.NoError(t, f.Sync(ctx))
	var got []string
	for _, c := range r.take() {
		got = append(got, c.ID)
	}
	for _, id := range ids {
		assert.Contains(t, got, id)
	}
}
