package apitoken_test

import (
	"context"
	"encoding/json"
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

// heldGetStore is a memstore whose first Get, once armed, waits until
// released: a slow database between a request's check and its write.
type heldGetStore struct {
	*memstore.Store
	armed   atomic.Bool
	reached chan struct{}
	release chan struct{}
}

func (s *heldGetStore) Get(ctx context.Context, id string) (*apitoken.Token, error) {
	if s.armed.CompareAndSwap(true, false) {
		close(s.reached)
		<-s.release
	}
	return s.Store.Get(ctx, id)
}

// TestAttack18SelfRotateRacesOverlap: POST /self/rotate refuses (409) a
// rotation while the previous key still works, but it checks the token as
// authenticated, then regenerates by id: the rotation is not conditional on
// the presented key still being the current one. A holder of the old key
// whose request was checked just before the owner rotated (with an overlap)
// rotates after it, with what has become the previous key: the owner's new
// key is demoted to a previous key that dies with the overlap, and the old
// key's holder ends with the only lasting key.
func TestAttack18SelfRotateRacesOverlap(t *testing.T) {
	ctx := context.Background()
	clk := apitokentest.NewClock()
	store := &heldGetStore{Store: memstore.New(), reached: make(chan struct{}), release: make(chan struct{})}
	svc := apitokentest.New(t, apitoken.Config{Store: store, Salt: testSalt, Clock: clk, AnyAction: true})
	srv := httptest.NewServer(http.StripPrefix("/api/tokens", svc.SelfHandler()))
	t.Cleanup(srv.Close)

	tok, oldKey := mustCreate(t, svc, apitoken.CreateParams{Name: "ci", Type: apitoken.Custom,
		Permissions: []string{apitoken.SelfRotateAction}})

	store.armed.Store(true)
	type answer struct {
		status int
		body   string
	}
	done := make(chan answer, 1)
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
	<-store.reached // the old key's request passed its checks

	// The owner rotates meanwhile, keeping the old key for an hour.
	_, ownerKey, err := svc.RegenerateWithOverlap(ctx, tok.ID, time.Hour)
	require.NoError(t, err)
	close(store.release)
	a := <-done

	assert.Equal(t, http.StatusConflict, a.status,
		"a rotation by a key that is by now the previous key must be refused: %s", a.body)
	if a.status == http.StatusOK {
		var out struct {
			Data struct {
				AccessKey string `json:"accessKey"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal([]byte(a.body), &out))
		clk.Add(2 * time.Hour)
		_, err := svc.Verify(ctx, ownerKey)
		assert.NoError(t, err, "the owner's new key was demoted and died")
		_, err = svc.Verify(ctx, out.Data.AccessKey)
		assert.Error(t, err, "the old key's holder holds the token's only key")
	}
}
