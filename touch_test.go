package apitoken_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
)

// batchStore is a memstore with TouchMany, which can be made to fail.
type batchStore struct {
	*memstore.Store
	down    atomic.Bool
	mu      sync.Mutex
	batches [][]apitoken.Use
}

func (b *batchStore) TouchMany(ctx context.Context, uses []apitoken.Use) error {
	if b.down.Load() {
		return errors.New("connection refused")
	}
	b.mu.Lock()
	b.batches = append(b.batches, uses)
	b.mu.Unlock()
	for _, u := range uses {
		if _, err := b.Store.Touch(ctx, u.ID, u.At, u.NotAfter); err != nil {
			return err
		}
	}
	return nil
}

func (b *batchStore) batchCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.batches)
}

func TestTouchBatchedInBackground(t *testing.T) {
	store := &batchStore{Store: memstore.New()}
	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: testSalt})
	require.NoError(t, err)
	defer svc.Close(context.Background())
	ctx := context.Background()

	var keys []string
	for _, name := range []string{"a", "b", "c"} {
		_, key, err := svc.Create(ctx, apitoken.CreateParams{Name: name})
		require.NoError(t, err)
		keys = append(keys, key)
	}
	for range 100 {
		for _, k := range keys {
			_, err := svc.Verify(ctx, k)
			require.NoError(t, err)
		}
	}
	require.Eventually(t, func() bool { return store.batchCount() > 0 }, 5*time.Second, 10*time.Millisecond,
		"written in the background without Flush")
	time.Sleep(300 * time.Millisecond) // longer than the batch window: any stray second batch would show
	require.Equal(t, 1, store.batchCount(), "300 uses of 3 tokens: one batch")
	assert.Len(t, store.batches[0], 3)
	list, err := svc.List(ctx)
	require.NoError(t, err)
	for _, tok := range list {
		assert.NotNil(t, tok.LastUsedAt, tok.Name)
	}
}

func TestTouchSurvivesStoreOutage(t *testing.T) {
	store := &batchStore{Store: memstore.New()}
	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: testSalt, Logger: discard()})
	require.NoError(t, err)
	ctx := context.Background()
	tok, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "a"})
	require.NoError(t, err)

	store.down.Store(true)
	_, err = svc.Verify(ctx, key)
	require.NoError(t, err)
	assert.Error(t, svc.Flush(ctx), "the store is down")
	store.down.Store(false)
	require.NoError(t, svc.Close(ctx), "Close writes what failed before")
	got, err := store.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.NotNil(t, got.LastUsedAt, "the use was not lost")
}
