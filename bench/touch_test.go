package bench

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-apitoken/apitoken/memstore"
)

// blockingTouches wraps a memstore: Touch counts its calls and blocks until
// release is closed, so that a verification waiting on a write would hang.
type blockingTouches struct {
	*memstore.Store
	touches atomic.Int64
	release chan struct{}
}

func (s *blockingTouches) Touch(ctx context.Context, id string, at, notAfter time.Time) (bool, error) {
	s.touches.Add(1)
	<-s.release
	return s.Store.Touch(ctx, id, at, notAfter)
}

// TestLastUsedAtOneWrite verifies one token a million times inside the touch
// interval: at most one store write results, and none on the request path,
// since every verification completes while the write is held.
func TestLastUsedAtOneWrite(t *testing.T) {
	n := 1_000_000
	if raceEnabled || testing.Short() {
		n = 50_000
	}
	ctx := context.Background()
	store := &blockingTouches{Store: memstore.New(), release: make(chan struct{})}
	svc, key := newService(t, store, 0)

	for range n {
		if _, err := svc.Verify(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	// Every verification returned while the one write is held: none
	// waited for it. Close waits for the background write and flushes.
	close(store.release)
	if err := svc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := store.touches.Load(); got != 1 {
		t.Errorf("%d verifications wrote lastUsedAt %d times, want 1", n, got)
	}
	list, err := store.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].LastUsedAt == nil {
		t.Errorf("lastUsedAt was not recorded: %v", list)
	}
}
