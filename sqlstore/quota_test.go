package sqlstore_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// TestQuotaAcrossInstances: 1,000 concurrent uses of a 500-use quota,
// through two instances (each a Service on a cache on its own pool), give
// exactly 500 successes on PostgreSQL and MySQL. SQLite, one writer at a
// time across two pools, takes a tenth of that: under -race, 1,000 waiting
// writers outwait its busy timeout, and the refused uses fail closed (503).
func TestQuotaAcrossInstances(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			r := newFeedRig(t, e, sqlstore.Options{})
			var svcs []*apitoken.Service
			for _, s := range []*sqlstore.Store{r.writer, r.watcher} {
				c := cache.New(s, cache.Options{Logger: slog.New(slog.DiscardHandler)})
				t.Cleanup(func() { c.Close() })
				svc, err := apitoken.New(apitoken.Config{Store: c, Salt: "quota-test-salt-0123456789", Logger: slog.New(slog.DiscardHandler)})
				require.NoError(t, err)
				t.Cleanup(func() { svc.Close(ctx) })
				svcs = append(svcs, svc)
			}
			uses := 1000
			if e.dialect == sqlstore.SQLite {
				uses = 100
			}
			_, key, err := svcs[0].Create(ctx, apitoken.CreateParams{Name: "trial",
				PolicyParams: apitoken.PolicyParams{Quota: &apitoken.Quota{Limit: int64(uses / 2)}}})
			require.NoError(t, err)

			var ok, spent atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range uses {
				wg.Go(func() {
					<-start
					switch _, err := svcs[i%2].Verify(ctx, key); {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, apitoken.ErrQuotaExhausted):
						spent.Add(1)
					default:
						t.Error(err)
					}
				})
			}
			close(start)
			wg.Wait()
			assert.Equal(t, int64(uses/2), ok.Load(), "successes")
			assert.Equal(t, int64(uses/2), spent.Load(), "refused as spent")
		})
	}
}
