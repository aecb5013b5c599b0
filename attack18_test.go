package apitoken_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/memstore"
)

// heldSetKeyStore is a memstore whose first SetKey, once armed, waits
// until released: a slow database between a request's checks and its
// write.
type heldSetKeyStore struct {
	*memstore.Store
	armed   atomic.Bool
	reached chan struct{}
	release chan struct{}
}

func (s *heldSetKeyStore) SetKey(ctx context.Context, id string, k apitoken.NewKey) error {
	if s.armed.CompareAndSwap(true, false) {
		close(s.reached)
		<-s.release
	}
	return s.Store.SetKey(ctx, id, k)
}

// TestAttack18SelfRotateRacesOverlap: POST /self/rotate refuses (409) a
// rotation while the previous key still works, but it checks the token as
// authenticated, then regenerates by id: the key change is not conditional
// on the presented key still being the token's current key. A holder of
// the old key whose request was checked just before the owner rotated
// (with an overlap) writes its new key after the owner's: the owner's new
// key is demoted to a previous key that dies with the overlap, and the old
// key's holder ends with the token's only lasting key. Across instances a
// cache that has not yet heard of the owner's rotation widens the window
// to the feed's latency.
func TestAttack18SelfRotateRacesOverlap(t *testing.T) {
	ctx := context.Background()
	clk := apitokentest.NewClock()
	store := &heldSetKeyStore{Store: memstore.New(), reached: make(chan struct{}), release: make(chan struct{})}
	svc := apitokentest.New(t, apitoken.Config{Store: store, Salt: testSalt, Clock: clk, AnyAction: true})
	srv := httptest.NewServer(http.StripPrefix("/api/tokens", svc.SelfHandler()))
	t.Cleanup(srv.Close)

	tok, oldKey := mustCreate(t, svc, apitoken.CreateParams{Name: "ci", Type: apitoken.Custom,
		Permissions: []string{apitoken.SelfRotateAction}})

	type answer struct {
		status int
		body   string
	}
	done := make(chan answer, 1)
	store.armed.Store(true)
	go func() {
		req, _ := http.NewRequest("POST", srv.URL+"/api/tokens/self/rotate", strings.NewReader(""))
		req.Header.Set("Authorization", "Bearer "+oldKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{0, err.Error()}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		done <- answer{res.StatusCode, string(b)}
	}()
	var a answer
	held := false
	select {
	case <-store.reached: // the old key's rotation is about to write
		held = true
	case a = <-done: // it wrote nothing
	}
	store.armed.Store(false)
	// The owner rotates meanwhile, keeping the old key for an hour.
	_, ownerKey, err := svc.RegenerateWithOverlap(ctx, tok.ID, time.Hour)
	require.NoError(t, err)
	if held {
		close(store.release)
		a = <-done
		assert.Equal(t, http.StatusConflict, a.status,
			"a rotation by a key that is by now the previous key must be refused: %.80s", a.body)
	}

	clk.Add(2 * time.Hour)
	_, err = svc.Verify(ctx, ownerKey)
	assert.NoError(t, err, "the owner's new key was demoted by the old key's rotation and died")
	if a.status == http.StatusOK {
		var out struct {
			Data struct {
				AccessKey string `json:"accessKey"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal([]byte(a.body), &out))
		_, err = svc.Verify(ctx, out.Data.AccessKey)
		assert.Error(t, err, "the old key's holder holds the token's only lasting key")
	}
}

// TestAttack18SelfRotateTrailingGarbage: POST /self/rotate decodes only the
// first JSON value of its body, so a body that is not "empty or
// {"overlap": milliseconds}" — a value followed by anything — is taken,
// and the key is rotated, instead of the 400 that bad input gets.
func TestAttack18SelfRotateTrailingGarbage(t *testing.T) {
	svc, _ := newService(t, apitoken.Config{Clock: apitokentest.NewClock()})
	srv := httptest.NewServer(http.StripPrefix("/api/tokens", svc.SelfHandler()))
	t.Cleanup(srv.Close)
	for i, body := range []string{`{"overlap": 60000} {"overlap": "x"`, `{} garbage`, `null`} {
		_, key := mustCreate(t, svc, apitoken.CreateParams{Name: fmt.Sprintf("ci%d", i), Type: apitoken.Custom,
			Permissions: []string{apitoken.SelfRotateAction}})
		req, err := http.NewRequest("POST", srv.URL+"/api/tokens/self/rotate", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, "body %q rotated the key: %.80s", body, b)
	}
}

// TestAttack18RevokeIdleNegative: RevokeIdle takes any duration. A negative
// one (a sign slip, or a duration parsed as "-1h") puts the cutoff in the
// future, so every token, the one used a moment ago included, is "idle" and
// deleted, with no error.
func TestAttack18RevokeIdleNegative(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, apitoken.Config{Clock: apitokentest.NewClock()})
	_, key := mustCreate(t, svc, apitoken.CreateParams{Name: "busy"})
	_, err := svc.Verify(ctx, key)
	require.NoError(t, err)
	revoked, err := svc.RevokeIdle(ctx, -time.Hour)
	assert.Error(t, err, "a negative idle time is not a time unused")
	assert.Empty(t, revoked, "a token used just now is not idle")
	_, err = svc.Verify(ctx, key)
	assert.NoError(t, err, "the busy token was deleted")
}

// TestAttack18RevokeLeakedDeadPreviousKey: Lookup's doc says the previous
// key of a regeneration counts "while its overlap lasts". The store keeps
// the old hash after the overlap (until the next key change) and returns
// the token under it with its expiry clamped to the overlap's end; Lookup
// checks no expiry, so RevokeLeaked — the public revoke endpoint — deletes
// the token for a key that has been dead since the overlap ended. Whoever
// holds an old, rotated-away key (the very key the rotation was for) can
// have the token, and the owner's new key, revoked.
func TestAttack18RevokeLeakedDeadPreviousKey(t *testing.T) {
	ctx := context.Background()
	clk := apitokentest.NewClock()
	svc, _ := newService(t, apitoken.Config{Clock: clk})
	tok, oldKey := mustCreate(t, svc, apitoken.CreateParams{Name: "ci"})
	_, newKey, err := svc.RegenerateWithOverlap(ctx, tok.ID, time.Hour)
	require.NoError(t, err)
	clk.Add(2 * time.Hour)
	_, err = svc.Verify(ctx, oldKey)
	require.Error(t, err, "the old key is dead after the overlap")

	_, err = svc.Lookup(ctx, oldKey)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "Lookup of a key dead since its overlap ended")
	_, err = svc.RevokeLeaked(ctx, oldKey, apitoken.Leak{Where: "an old paste"})
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "RevokeLeaked of a dead previous key")
	_, err = svc.Verify(ctx, newKey)
	assert.NoError(t, err, "the token's current key was revoked through a dead key")
}
