package faulttest

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/internal/faultproxy"
)

// TestStaleIfError takes the database away (refused, then hung) from a cache
// with StaleIfError:
// keys verified before the outage keep working for the window and then get
// 503; an unknown key, or one revoked through this cache, is never accepted;
// a key revoked through another instance is accepted until the window ends,
// as SECURITY.md says.
func TestStaleIfError(t *testing.T) {
	const ttl, window = 5 * time.Second, 30 * time.Second
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			r := newRig(t, e) // r.svc is the other instance, without a cache
			ctx := context.Background()
			clk := apitokentest.NewClock()
			discard := slog.New(slog.DiscardHandler)
			c := cache.New(r.store, cache.Options{TTL: ttl, FeedTTL: -1, StaleIfError: window, Clock: clk, Logger: discard}) // TTL alone, without the feed
			svc, err := apitoken.New(apitoken.Config{
				Store: c, Salt: "fault-test-salt-0123456789", LookupTimeout: lookupTimeout, Logger: discard,
			})
			require.NoError(t, err)
			t.Cleanup(func() { svc.Close(ctx) })

			keys := map[string]string{}
			ids := map[string]string{}
			for _, name := range []string{"valid", "revoked here", "revoked elsewhere"} {
				tok, key, err := svc.Create(ctx, apitoken.CreateParams{Name: name})
				require.NoError(t, err)
				_, err = svc.Verify(ctx, key)
				require.NoError(t, err)
				keys[name], ids[name] = key, tok.ID
			}
			unknown := strings.Repeat("0", 256)
			_, err = svc.Delete(ctx, ids["revoked here"])
			require.NoError(t, err)
			_, err = r.svc.Delete(ctx, ids["revoked elsewhere"])
			require.NoError(t, err)

			r.proxy.SetMode(faultproxy.Refuse)
			r.proxy.Reset()
			clk.Add(ttl)
			for name, want := range map[string]error{
				"valid":             nil,
				"revoked elsewhere": nil, // the documented cost
				"revoked here":      apitoken.ErrUnavailable,
			} {
				_, err := svc.Verify(ctx, keys[name])
				if want == nil {
					assert.NoError(t, err, name)
				} else {
					assert.ErrorIs(t, err, want, name)
				}
			}
			_, err = svc.Verify(ctx, unknown)
			assert.ErrorIs(t, err, apitoken.ErrUnavailable, "unknown")
			assert.EqualValues(t, 2, c.StaleServed())

			// A hung database: the lookup times out, and the window
			// applies as well.
			r.proxy.SetMode(faultproxy.Stall)
			_, err = svc.Verify(ctx, keys["valid"])
			assert.NoError(t, err, "valid, database hung")
			r.proxy.SetMode(faultproxy.Refuse)

			clk.Add(window)
			_, err = svc.Verify(ctx, keys["valid"])
			assert.ErrorIs(t, err, apitoken.ErrUnavailable, "past the window")

			r.proxy.SetMode(faultproxy.Pass)
			waitFor(t, "recovery", func() bool { _, err := svc.Verify(ctx, keys["valid"]); return err == nil })
			_, err = svc.Verify(ctx, keys["revoked elsewhere"])
			assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "the revocation applies once the database answers")
		})
	}
}
