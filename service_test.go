package apitoken_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/memstore"
)

func ptr[T any](v T) *T { return &v }

func TestCreate(t *testing.T) {
	clk := apitokentest.NewClock()
	svc, _ := newService(t, apitoken.Config{Clock: clk})
	tok, key := mustCreate(t, svc, apitoken.CreateParams{Name: "  ci  ", Description: " deploys ", Lifespan: apitoken.Days30})
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{256}$`), key, "256 lowercase hex, as Strapi")
	assert.Equal(t, "ci", tok.Name, "trimmed")
	assert.Equal(t, "deploys", tok.Description, "trimmed")
	assert.Equal(t, apitoken.ReadOnly, tok.Type, "read-only by default")
	assert.Nil(t, tok.Permissions)
	assert.Nil(t, tok.LastUsedAt)
	assert.Equal(t, clk.Now().Add(30*24*time.Hour), *tok.ExpiresAt)
	assert.Len(t, tok.ID, 36)

	got, err := svc.Verify(context.Background(), key)
	require.NoError(t, err)
	assert.Equal(t, tok.ID, got.ID)

	_, key2 := mustCreate(t, svc, apitoken.CreateParams{Name: "other"})
	assert.NotEqual(t, key, key2)

	unlimited, _ := mustCreate(t, svc, apitoken.CreateParams{Name: "forever", Type: apitoken.Custom, Permissions: []string{"api::b.b.find", "api::a.a.find", "api::b.b.find"}})
	assert.Nil(t, unlimited.ExpiresAt)
	assert.Equal(t, []string{"api::a.a.find", "api::b.b.find"}, unlimited.Permissions, "sorted, without repeats")
}

func TestValidation(t *testing.T) {
	actions := &apitoken.Registry{}
	actions.Register("api::article.article.find", "api::article.article.create")
	svc, _ := newService(t, apitoken.Config{Actions: actions})
	mustCreate(t, svc, apitoken.CreateParams{Name: "taken"})

	tests := []struct {
		name  string
		p     apitoken.CreateParams
		field string
		msg   string
	}{
		{"empty name", apitoken.CreateParams{Name: "   "}, "name", "name is a required field"},
		{"long name", apitoken.CreateParams{Name: strings.Repeat("é", 101)}, "name", "name must be at most 100 characters"},
		{"control character", apitoken.CreateParams{Name: "a\x00b"}, "name", "name must not contain control characters"},
		{"bad UTF-8", apitoken.CreateParams{Name: "a\xffb"}, "name", "name must be valid UTF-8"},
		{"long description", apitoken.CreateParams{Name: "d", Description: strings.Repeat("x", 1001)}, "description", "description must be at most 1000 characters"},
		{"unknown type", apitoken.CreateParams{Name: "t", Type: "admin"}, "type", "type must be one of the following values: read-only, full-access, custom"},
		{"lifespan", apitoken.CreateParams{Name: "l", Lifespan: apitoken.Duration(24 * time.Hour)}, "lifespan",
			"lifespan must be one of the following values: 604800000, 2592000000, 7776000000, null"},
		{"permissions on read-only", apitoken.CreateParams{Name: "p", Permissions: []string{"api::article.article.find"}}, "permissions",
			"Non-custom tokens should not reference permissions"},
		{"custom without permissions", apitoken.CreateParams{Name: "c", Type: apitoken.Custom}, "permissions",
			"Missing permissions attribute for custom token"},
		{"unknown action", apitoken.CreateParams{Name: "u", Type: apitoken.Custom, Permissions: []string{"api::article.article.find", "api::article.article.delete"}},
			"permissions", "Unknown permissions provided: api::article.article.delete"},
		{"malformed action", apitoken.CreateParams{Name: "m", Type: apitoken.Custom, Permissions: []string{"<script>"}},
			"permissions", "Unknown permissions provided: <script>"},
		{"taken name", apitoken.CreateParams{Name: " taken "}, "name", "Name already taken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, key, err := svc.Create(context.Background(), tt.p)
			require.ErrorIs(t, err, apitoken.ErrValidation)
			assert.Empty(t, key)
			var verr *apitoken.ValidationError
			require.ErrorAs(t, err, &verr)
			require.NotEmpty(t, verr.Errors)
			assert.Equal(t, []string{tt.field}, verr.Errors[0].Path)
			assert.Equal(t, tt.msg, verr.Message())
		})
	}
	_, _, err := svc.Create(context.Background(), apitoken.CreateParams{Name: "taken"})
	assert.ErrorIs(t, err, apitoken.ErrNameTaken, "a taken name is also ErrNameTaken")

	list, err := svc.List(context.Background())
	require.NoError(t, err)
	assert.Len(t, list, 1, "refused creates store nothing")

	_, _, err = svc.Create(context.Background(), apitoken.CreateParams{Name: "", Type: "x", Lifespan: 5})
	var verr *apitoken.ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Len(t, verr.Errors, 3, "every problem is reported at once")
}

func TestAnyAction(t *testing.T) {
	svc, err := apitoken.New(apitoken.Config{Store: memstore.New(), Salt: testSalt, Logger: discard()})
	require.NoError(t, err)
	defer svc.Close(context.Background())
	_, _, err = svc.Create(context.Background(), apitoken.CreateParams{Name: "c", Type: apitoken.Custom, Permissions: []string{"api::x.y.z"}})
	assert.ErrorIs(t, err, apitoken.ErrValidation, "by default only registered actions may be granted")

	svc, _ = newService(t, apitoken.Config{AnyAction: true})
	tok, _ := mustCreate(t, svc, apitoken.CreateParams{Name: "c", Type: apitoken.Custom, Permissions: []string{"api::x.y.z"}})
	assert.Equal(t, []string{"api::x.y.z"}, tok.Permissions, "with AnyAction any well-formed action is accepted")
	_, _, err = svc.Create(context.Background(), apitoken.CreateParams{Name: "d", Type: apitoken.Custom, Permissions: []string{"api::x.y"}})
	assert.ErrorIs(t, err, apitoken.ErrValidation)
}

func TestCustomDurations(t *testing.T) {
	day := apitoken.Duration(24 * time.Hour)
	year := apitoken.Duration(365 * 24 * time.Hour)
	svc, _ := newService(t, apitoken.Config{Durations: []apitoken.Duration{day, year}})
	tok, _ := mustCreate(t, svc, apitoken.CreateParams{Name: "day", Lifespan: day})
	assert.Equal(t, day, tok.Lifespan)
	_, _, err := svc.Create(context.Background(), apitoken.CreateParams{Name: "forever"})
	assert.ErrorIs(t, err, apitoken.ErrValidation, "Unlimited is allowed only when listed")
}

func TestUpdate(t *testing.T) {
	clk := apitokentest.NewClock()
	svc, _ := newService(t, apitoken.Config{Clock: clk})
	ctx := context.Background()
	tok, key := mustCreate(t, svc, apitoken.CreateParams{Name: "ci", Type: apitoken.Custom, Lifespan: apitoken.Days7,
		Permissions: []string{"api::a.a.find"}})
	created := clk.Now()

	clk.Add(time.Hour)
	got, err := svc.Update(ctx, tok.ID, apitoken.UpdateParams{Description: ptr("new")})
	require.NoError(t, err)
	assert.Equal(t, "new", got.Description)
	assert.Equal(t, created.Add(7*24*time.Hour), *got.ExpiresAt, "expiry kept when the lifespan is not given")
	assert.Equal(t, []string{"api::a.a.find"}, got.Permissions, "permissions kept")
	assert.Equal(t, clk.Now(), got.UpdatedAt)

	clk.Add(time.Hour)
	got, err = svc.Update(ctx, tok.ID, apitoken.UpdateParams{Lifespan: ptr(apitoken.Days30)})
	require.NoError(t, err)
	assert.Equal(t, clk.Now().Add(30*24*time.Hour), *got.ExpiresAt, "a new lifespan counts from the edit")

	got, err = svc.Update(ctx, tok.ID, apitoken.UpdateParams{Lifespan: ptr(apitoken.Unlimited)})
	require.NoError(t, err)
	assert.Nil(t, got.ExpiresAt, "unlimited clears the expiry")

	got, err = svc.Update(ctx, tok.ID, apitoken.UpdateParams{Type: ptr(apitoken.FullAccess)})
	require.NoError(t, err)
	assert.Nil(t, got.Permissions, "a non-custom type drops the permissions")

	_, err = svc.Update(ctx, tok.ID, apitoken.UpdateParams{Type: ptr(apitoken.Custom)})
	assert.ErrorIs(t, err, apitoken.ErrValidation, "custom needs permissions")
	got, err = svc.Update(ctx, tok.ID, apitoken.UpdateParams{Type: ptr(apitoken.Custom), Permissions: []string{"api::b.b.create"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"api::b.b.create"}, got.Permissions)

	_, err = svc.Update(ctx, tok.ID, apitoken.UpdateParams{Lifespan: ptr(apitoken.Duration(time.Hour))})
	assert.ErrorIs(t, err, apitoken.ErrValidation)

	mustCreate(t, svc, apitoken.CreateParams{Name: "other"})
	_, err = svc.Update(ctx, tok.ID, apitoken.UpdateParams{Name: ptr("other")})
	assert.ErrorIs(t, err, apitoken.ErrNameTaken)

	_, err = svc.Update(ctx, "nope", apitoken.UpdateParams{Name: ptr("x")})
	assert.ErrorIs(t, err, apitoken.ErrNotFound)

	_, err = svc.Verify(ctx, key)
	assert.NoError(t, err, "the key survives edits")
}

func TestRegenerate(t *testing.T) {
	clk := apitokentest.NewClock()
	svc, _ := newService(t, apitoken.Config{Clock: clk})
	ctx := context.Background()
	tok, old := mustCreate(t, svc, apitoken.CreateParams{Name: "ci", Type: apitoken.Custom, Lifespan: apitoken.Days90,
		Permissions: []string{"api::a.a.find"}})
	_, err := svc.Verify(ctx, old)
	require.NoError(t, err)
	require.NoError(t, svc.Flush(ctx))

	clk.Add(time.Hour)
	got, fresh, err := svc.Regenerate(ctx, tok.ID)
	require.NoError(t, err)
	assert.NotEqual(t, old, fresh)
	assert.Equal(t, tok.ExpiresAt, got.ExpiresAt, "expiry kept")
	assert.Equal(t, tok.Lifespan, got.Lifespan)
	assert.Equal(t, tok.Permissions, got.Permissions)
	assert.NotNil(t, got.LastUsedAt, "last use kept")

	_, err = svc.Verify(ctx, old)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "the old key dies at once")
	_, err = svc.Verify(ctx, fresh)
	assert.NoError(t, err)

	_, _, err = svc.Regenerate(ctx, "nope")
	assert.ErrorIs(t, err, apitoken.ErrNotFound)
}

func TestRegenerateWithOverlap(t *testing.T) {
	clk := apitokentest.NewClock()
	svc, _ := newService(t, apitoken.Config{Clock: clk})
	ctx := context.Background()
	tok, old := mustCreate(t, svc, apitoken.CreateParams{Name: "ci", Lifespan: apitoken.Days7})
	_, fresh, err := svc.RegenerateWithOverlap(ctx, tok.ID, 24*time.Hour)
	require.NoError(t, err)

	clk.Add(24*time.Hour - time.Millisecond)
	_, err = svc.Verify(ctx, old)
	assert.NoError(t, err, "the old key works during the overlap")
	clk.Add(time.Millisecond)
	_, err = svc.Verify(ctx, old)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey, "and is refused as unknown at its end (not as expired, which would say the token exists)")
	got, err := svc.Verify(ctx, fresh)
	require.NoError(t, err)
	assert.Equal(t, tok.ExpiresAt, got.ExpiresAt, "the new key keeps the token's expiry")

	for _, bad := range []time.Duration{-time.Second, 31 * 24 * time.Hour} {
		_, _, err = svc.RegenerateWithOverlap(ctx, tok.ID, bad)
		assert.ErrorIs(t, err, apitoken.ErrValidation, "%v", bad)
	}
	_, err = svc.Verify(ctx, fresh)
	assert.NoError(t, err, "a refused regeneration changes nothing")
}

func TestDelete(t *testing.T) {
	svc, _ := newService(t, apitoken.Config{})
	ctx := context.Background()
	tok, key := mustCreate(t, svc, apitoken.CreateParams{Name: "gone"})
	got, err := svc.Delete(ctx, tok.ID)
	require.NoError(t, err)
	assert.Equal(t, "gone", got.Name)
	_, err = svc.Verify(ctx, key)
	assert.ErrorIs(t, err, apitoken.ErrInvalidKey)
	_, err = svc.Get(ctx, tok.ID)
	assert.ErrorIs(t, err, apitoken.ErrNotFound)
	_, err = svc.Delete(ctx, tok.ID)
	assert.ErrorIs(t, err, apitoken.ErrNotFound)
}

func TestList(t *testing.T) {
	svc, _ := newService(t, apitoken.Config{})
	for _, n := range []string{"b", "c", "a"} {
		mustCreate(t, svc, apitoken.CreateParams{Name: n})
	}
	list, err := svc.List(context.Background())
	require.NoError(t, err)
	var names []string
	for _, tok := range list {
		names = append(names, tok.Name)
	}
	assert.Equal(t, []string{"a", "b", "c"}, names)
}

// Nothing that prints, logs or encodes a token shows its key or hash.
func TestTokenNeverShowsSecrets(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	svc, _ := newService(t, apitoken.Config{Salt: strapiSalt, Logger: logger})
	tok, key := mustCreate(t, svc, apitoken.CreateParams{Name: "secret", Type: apitoken.Custom, Permissions: []string{"api::a.a.find"}})
	h, err := apitoken.NewHasher(strapiSalt)
	require.NoError(t, err)
	hash := h.Sum(key).Hex()

	logger.Info("made", "token", tok)
	js, err := json.Marshal(tok)
	require.NoError(t, err)
	for _, out := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %+v %s", tok, *tok, tok), tok.String(), string(js), logs.String()} {
		assert.NotContains(t, out, key)
		assert.NotContains(t, out, hash)
		assert.NotContains(t, out, key[:32], "not even part of it")
	}
	assert.Contains(t, logs.String(), `"name":"secret"`, "the log names the token")
	assert.Contains(t, string(js), `"permissions":["api::a.a.find"]`)
}

func TestDurationJSON(t *testing.T) {
	for d, want := range map[apitoken.Duration]string{apitoken.Unlimited: "null", apitoken.Days7: "604800000", apitoken.Days90: "7776000000"} {
		b, err := json.Marshal(d)
		require.NoError(t, err)
		assert.Equal(t, want, string(b))
		var back apitoken.Duration
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, d, back)
	}
	for _, bad := range []string{`-1`, `"7d"`, `1.5`, `1e30`, `true`} {
		var d apitoken.Duration
		assert.Error(t, json.Unmarshal([]byte(bad), &d), bad)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]apitoken.Duration{"unlimited": 0, "7d": apitoken.Days7, "30d": apitoken.Days30, "90d": apitoken.Days90, "12h": apitoken.Duration(12 * time.Hour)} {
		got, err := apitoken.ParseDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
		if in != "12h" {
			assert.Equal(t, in, got.String())
		}
	}
	for _, bad := range []string{"", "d", "0d", "-1d", "7", "1000000d", "forever", "-5h", strings.Repeat("9", 100) + "d"} {
		_, err := apitoken.ParseDuration(bad)
		assert.Error(t, err, bad)
	}
}

func TestParseAction(t *testing.T) {
	a, err := apitoken.ParseAction("plugin::upload.content-api.find")
	require.NoError(t, err)
	assert.Equal(t, apitoken.Action{Group: "plugin::upload", Controller: "content-api", Name: "find"}, a)
	assert.Equal(t, "plugin::upload.content-api.find", a.String())
	for _, bad := range []string{"", "api::", "api::a.b", "api::a.b.c.d", "x::a.b.c", "api::a..c", "api::a.b.c ", "api::a.b.<c>", strings.Repeat("a", 300)} {
		_, err := apitoken.ParseAction(bad)
		assert.Error(t, err, bad)
	}
	assert.Panics(t, func() { (&apitoken.Registry{}).Register("not an action") })
}

func TestRegistryGroups(t *testing.T) {
	var r apitoken.Registry
	r.Register("api::article.article.find", "api::article.article.create", "plugin::upload.content-api.find")
	js, err := json.Marshal(r.Groups())
	require.NoError(t, err)
	assert.JSONEq(t, `{"api::article":{"controllers":{"article":["create","find"]}},"plugin::upload":{"controllers":{"content-api":["find"]}}}`, string(js))
}

// TestUpdateExpired: an expired token's lifespan cannot be changed, so that
// the update permission cannot bring a dead key back; its other fields can.
func TestUpdateExpired(t *testing.T) {
	clk := apitokentest.NewClock()
	svc, _ := newService(t, apitoken.Config{Clock: clk})
	ctx := context.Background()
	tok, key := mustCreate(t, svc, apitoken.CreateParams{Name: "old", Type: apitoken.FullAccess, Lifespan: apitoken.Days7})
	clk.Add(8 * 24 * time.Hour)

	for _, life := range []apitoken.Duration{apitoken.Unlimited, apitoken.Days90} {
		_, err := svc.Update(ctx, tok.ID, apitoken.UpdateParams{Lifespan: &life, Description: ptr("revived?")})
		var v *apitoken.ValidationError
		require.ErrorAs(t, err, &v, "lifespan %v", life)
		assert.Equal(t, []string{"lifespan"}, v.Errors[0].Path)
		assert.Contains(t, v.Message(), "create a new token")
	}
	got, err := svc.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.Equal(t, tok.Description, got.Description, "a refused update changes nothing")
	_, err = svc.Verify(ctx, key)
	assert.ErrorIs(t, err, apitoken.ErrExpired, "the key stays dead")

	got, err = svc.Update(ctx, tok.ID, apitoken.UpdateParams{Description: ptr("retired")})
	require.NoError(t, err, "other fields of an expired token can change")
	assert.Equal(t, "retired", got.Description)
}

// TestUpdateIfVersion: an update made against a version that is no longer
// the token's is refused with ErrStale and changes nothing.
func TestUpdateIfVersion(t *testing.T) {
	clk := apitokentest.NewClock()
	svc, _ := newService(t, apitoken.Config{Clock: clk})
	ctx := context.Background()
	tok, _ := mustCreate(t, svc, apitoken.CreateParams{Name: "versioned", Type: apitoken.FullAccess})
	read := tok.Version()

	_, _, err := svc.Regenerate(ctx, tok.ID)
	require.NoError(t, err)
	clk.Add(time.Minute)
	got, err := svc.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.Equal(t, read, got.Version(), "a new key does not change the version")

	got, err = svc.Update(ctx, tok.ID, apitoken.UpdateParams{Type: ptr(apitoken.ReadOnly), IfVersion: []string{read}})
	require.NoError(t, err)
	assert.NotEqual(t, read, got.Version(), "an edit does")

	_, err = svc.Update(ctx, tok.ID, apitoken.UpdateParams{Description: ptr("stale"), IfVersion: []string{read}})
	assert.ErrorIs(t, err, apitoken.ErrStale)
	now, err := svc.Get(ctx, tok.ID)
	require.NoError(t, err)
	assert.Equal(t, apitoken.ReadOnly, now.Type)
	assert.Empty(t, now.Description, "a stale update changes nothing")
}

// brokenStore fails every call with a raw database error.
type brokenStore struct{ apitoken.Store }

var errBroken = errors.New("dial tcp 10.0.0.7:5432: connection refused")

func (brokenStore) Create(context.Context, *apitoken.Token, apitoken.Hash) error { return errBroken }
func (brokenStore) Get(context.Context, string) (*apitoken.Token, error)         { return nil, errBroken }
func (brokenStore) List(context.Context) ([]*apitoken.Token, error)              { return nil, errBroken }
func (brokenStore) SetKey(context.Context, string, apitoken.NewKey) error        { return errBroken }
func (brokenStore) Delete(context.Context, string) error                         { return errBroken }
func (brokenStore) Update(context.Context, string, func(*apitoken.Token) error) (*apitoken.Token, error) {
	return nil, errBroken
}

// TestStoreUnavailable: every Service method that cannot reach the store
// returns ErrUnavailable (503 everywhere), keeping the cause for the log.
func TestStoreUnavailable(t *testing.T) {
	svc, err := apitoken.New(apitoken.Config{Store: brokenStore{memstore.New()}, Salt: testSalt, Logger: discard()})
	require.NoError(t, err)
	ctx := context.Background()
	_, _, createErr := svc.Create(ctx, apitoken.CreateParams{Name: "x"})
	_, getErr := svc.Get(ctx, "id")
	_, listErr := svc.List(ctx)
	_, updateErr := svc.Update(ctx, "id", apitoken.UpdateParams{Name: ptr("y")})
	_, _, regenErr := svc.Regenerate(ctx, "id")
	_, deleteErr := svc.Delete(ctx, "id")
	_, revealErr := svc.RevealKey(ctx, "id")
	_, countErr := svc.CountBySalt(ctx)
	for name, err := range map[string]error{"Create": createErr, "Get": getErr, "List": listErr, "Update": updateErr,
		"Regenerate": regenErr, "Delete": deleteErr, "RevealKey": revealErr, "CountBySalt": countErr} {
		assert.ErrorIs(t, err, apitoken.ErrUnavailable, name)
		assert.ErrorIs(t, err, errBroken, "%s keeps the cause", name)
		assert.Equal(t, 503, apitoken.StatusCode(err), name)
	}
}
