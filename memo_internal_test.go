package apitoken

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memoStore is the smallest Store that knows the keys it is given, so that
// this in-package test need not import memstore (which imports us).
type memoStore struct {
	Store
	known map[Hash]*Token
}

func (s memoStore) GetByHash(_ context.Context, h Hash) (*Token, error) {
	if t, ok := s.known[h]; ok {
		return t, nil
	}
	return nil, ErrNotFound
}

func (memoStore) TouchMany(context.Context, []Use) error { return nil }

func (m *keyMemo) len() int {
	n := 0
	m.hashes.Range(func(any, any) bool { n++; return true })
	return n
}

func randomKey(t *testing.T) string {
	b := make([]byte, 128)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

func TestKeyMemoContents(t *testing.T) {
	ctx := context.Background()
	store := memoStore{known: map[Hash]*Token{}}
	svc, err := New(Config{Store: store, Salt: "test-salt-0123456789abcdef", KeyMemo: 3})
	require.NoError(t, err)
	defer svc.Close(ctx)

	var keys []string
	for i := range 5 {
		k := randomKey(t)
		store.known[svc.hasher.Sum(k)] = &Token{ID: string(rune('a' + i)), Type: FullAccess}
		keys = append(keys, k)
	}

	for range 50 {
		_, err := svc.Verify(ctx, randomKey(t))
		require.ErrorIs(t, err, ErrInvalidKey)
	}
	assert.Zero(t, svc.memo.len(), "unknown keys are not remembered")

	for _, k := range keys[:2] {
		_, err := svc.Verify(ctx, k)
		require.NoError(t, err)
	}
	assert.Equal(t, 2, svc.memo.len())
	sum, digest, remembered := svc.hasher.sum(keys[0], svc.memo)
	assert.True(t, remembered)
	assert.Equal(t, svc.hasher.Sum(keys[0]), sum, "the remembered hash is the key's")

	delete(store.known, sum)
	_, err = svc.Verify(ctx, keys[0])
	require.ErrorIs(t, err, ErrInvalidKey)
	_, remembered = svc.memo.get(&digest)
	assert.False(t, remembered, "a key the store no longer knows is forgotten")

	for _, k := range keys[1:] {
		_, err := svc.Verify(ctx, k)
		require.NoError(t, err)
		assert.LessOrEqual(t, svc.memo.len(), 3, "never more than KeyMemo keys")
	}
}

// TestKeyMemoBoundConcurrent fills a small memo from many goroutines: its
// count stays in step with its contents, and it stays within its bound but
// for the puts racing a clear.
func TestKeyMemoBoundConcurrent(t *testing.T) {
	m := &keyMemo{max: 8}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				var d [32]byte
				d[0], d[1], d[2] = byte(g), byte(i), byte(i>>8)
				m.put(d, Hash{}, nil)
				if i%3 == 0 {
					m.forget(d)
				}
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, m.len(), 8+4)
}
