package apitoken_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/memstore"
	"github.com/go-apitoken/apitoken/storetest"
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
	clk := apitokentest.NewClock()
	svc := apitokentest.New(t, apitoken.Config{Store: store, Clock: clk})
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
	clk.WaitForTimers(1) // the writer waits for uses to gather
	assert.Zero(t, store.batchCount(), "nothing written before the batch window ends")
	clk.Add(200 * time.Millisecond)
	require.Eventually(t, func() bool { return store.batchCount() > 0 }, 5*time.Second, time.Millisecond,
		"written in the background without Flush")
	require.NoError(t, svc.Close(ctx)) // writes anything still pending: a stray second batch would show
	require.Equal(t, 1, store.batchCount(), "300 uses of 3 tokens: one batch")
	assert.Len(t, store.batches[0], 3)
	list, err := svc.List(ctx)
	require.NoError(t, err)
	for _, tok := range list {
		assert.NotNil(t, tok.LastUsedAt, tok.Name)
	}
}

// TestTouchRetriesOnClock: after a failed background write, the writer
// waits its retry delay on the Service's clock, then writes again.
func TestTouchRetriesOnClock(t *testing.T) {
	store := &batchStore{Store: memstore.New()}
	clk := apitokentest.NewClock()
	svc := apitokentest.New(t, apitoken.Config{Store: store, Clock: clk})
	ctx := context.Background()
	tok, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "a"})
	require.NoError(t, err)

	store.down.Store(true)
	_, err = svc.Verify(ctx, key)
	require.NoError(t, err)
	clk.WaitForTimers(1)
	clk.Add(200 * time.Millisecond) // the batch window: the write fails
	clk.WaitForTimers(1)            // the writer waits to retry
	store.down.Store(false)
	clk.Add(5 * time.Second)
	clk.WaitForTimers(1) // the retry's own batch window
	clk.Add(200 * time.Millisecond)
	require.Eventually(t, func() bool { return store.batchCount() == 1 }, 5*time.Second, time.Millisecond)
	got, err := store.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.NotNil(t, got.LastUsedAt, "written by the retry, without Flush")
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

// TestTouchOff: a negative TouchInterval records no use at all.
func TestTouchOff(t *testing.T) {
	store := &batchStore{Store: memstore.New()}
	svc := apitokentest.New(t, apitoken.Config{Store: store, TouchInterval: -1})
	ctx := context.Background()
	tok, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "a"})
	require.NoError(t, err)
	_, err = svc.Verify(ctx, key)
	require.NoError(t, err)
	require.NoError(t, svc.Flush(ctx))
	got, err := store.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.Nil(t, got.LastUsedAt)
	assert.Zero(t, store.batchCount())
}

// TestTouchBatchedThroughCache: a cache in front of a batch-capable store
// passes the batch on: 5 tokens used make 1 batch, not 5 single writes.
func TestTouchBatchedThroughCache(t *testing.T) {
	store := &batchStore{Store: memstore.New()}
	c := cache.New(store, cache.Options{})
	t.Cleanup(func() { c.Close() })
	storetest.Forwards(t, store, c)
	svc := apitokentest.New(t, apitoken.Config{Store: c})
	ctx := context.Background()
	for i := range 5 {
		_, key, err := svc.Create(ctx, apitoken.CreateParams{Name: fmt.Sprint("t", i)})
		require.NoError(t, err)
		_, err = svc.Verify(ctx, key)
		require.NoError(t, err)
	}
	require.NoError(t, svc.Flush(ctx))
	assert.Equal(t, 1, store.batchCount())
	assert.Len(t, store.batches[0], 5)
}
