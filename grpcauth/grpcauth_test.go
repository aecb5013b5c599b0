package grpcauth_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/grpcauth"
	"github.com/go-apitoken/apitoken/memstore"
)

// The test server's methods and their actions: Check is a read (find), so
// read-only tokens may call it; Watch, a stream, takes its action from
// Config.Action; List is in neither, so full-access tokens alone may call it.
const (
	checkMethod = "/grpc.health.v1.Health/Check"
	watchMethod = "/grpc.health.v1.Health/Watch"
	listMethod  = "/grpc.health.v1.Health/List"
	findAction  = "api::health.health.find"
	watchAction = "api::health.health.watch"
)

// healthServer answers with the name of the token in its context, in the
// "token" header, after checking that apitoken.Can agrees with the
// interceptor. calls counts the calls that reached it.
type healthServer struct {
	healthpb.UnimplementedHealthServer
	calls atomic.Int64
}

func (h *healthServer) answer(ctx context.Context, action string) error {
	h.calls.Add(1)
	tok, ok := apitoken.FromContext(ctx)
	if !ok {
		return status.Error(codes.Internal, "no token in the context")
	}
	if action != "" {
		if err := apitoken.Can(ctx, action); err != nil {
			return grpcauth.Error(err)
		}
	}
	return grpc.SetHeader(ctx, metadata.Pairs("token", tok.Name))
}

func (h *healthServer) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if err := h.answer(ctx, findAction); err != nil {
		return nil, err
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func (h *healthServer) List(ctx context.Context, _ *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	if err := h.answer(ctx, ""); err != nil {
		return nil, err
	}
	return &healthpb.HealthListResponse{}, nil
}

func (h *healthServer) Watch(_ *healthpb.HealthCheckRequest, s grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	if err := h.answer(s.Context(), watchAction); err != nil {
		return err
	}
	for _, st := range []healthpb.HealthCheckResponse_ServingStatus{healthpb.HealthCheckResponse_SERVING, healthpb.HealthCheckResponse_NOT_SERVING} {
		if err := s.Send(&healthpb.HealthCheckResponse{Status: st}); err != nil {
			return err
		}
	}
	return nil
}

// downStore is a memstore whose lookups fail while down is set, as when the
// database is down.
type downStore struct {
	*memstore.Store
	down atomic.Bool
}

func (s *downStore) GetByHash(ctx context.Context, h apitoken.Hash) (*apitoken.Token, error) {
	if s.down.Load() {
		return nil, errors.New("connection refused")
	}
	return s.Store.GetByHash(ctx, h)
}

// rig is a gRPC server guarded by grpcauth on a bufconn listener, and a
// client connected to it over the real HTTP/2 transport.
type rig struct {
	svc    *apitoken.Service
	store  *downStore
	clock  *apitokentest.Clock
	health *healthServer
	auth   *grpcauth.Interceptors
	client healthpb.HealthClient
}

func newRig(t testing.TB, opts ...grpc.ServerOption) *rig {
	t.Helper()
	r := &rig{store: &downStore{Store: memstore.New()}, clock: apitokentest.NewClock(), health: &healthServer{}}
	r.svc = apitokentest.New(t, apitoken.Config{Store: r.store, Clock: r.clock})
	var err error
	r.auth, err = grpcauth.New(grpcauth.Config{
		Service: r.svc,
		Actions: map[string]string{checkMethod: findAction},
		Action: func(method string) string {
			if method == watchMethod {
				return watchAction
			}
			return ""
		},
	})
	require.NoError(t, err)
	r.svc.Actions().Register(watchAction)
	r.client = serve(t, r.health, append(opts, grpc.UnaryInterceptor(r.auth.Unary), grpc.StreamInterceptor(r.auth.Stream))...)
	return r
}

// serve runs h on a gRPC server over bufconn until t ends and returns a
// client of it.
func serve(t testing.TB, h healthpb.HealthServer, opts ...grpc.ServerOption) healthpb.HealthClient {
	t.Helper()
	ln := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(srv, h)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return healthpb.NewHealthClient(conn)
}

// outcome is how a call ended: its code, its message, and the token the
// handler saw.
type outcome struct {
	code    codes.Code
	message string
	token   string
}

func (r *rig) call(t *testing.T, method string, md ...string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs(md...))
	var header metadata.MD
	var err error
	switch method {
	case checkMethod:
		_, err = r.client.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Header(&header))
	case listMethod:
		_, err = r.client.List(ctx, &healthpb.HealthListRequest{}, grpc.Header(&header))
	case watchMethod:
		var s grpc.ServerStreamingClient[healthpb.HealthCheckResponse]
		if s, err = r.client.Watch(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			break
		}
		var got []healthpb.HealthCheckResponse_ServingStatus
		for {
			m, rerr := s.Recv()
			if rerr != nil {
				if !errors.Is(rerr, io.EOF) { // EOF: the stream ended well
					err = rerr
				}
				break
			}
			got = append(got, m.Status)
		}
		if err == nil {
			assert.Len(t, got, 2, "the stream's messages")
			header, err = s.Header()
		}
	}
	st := status.Convert(err)
	o := outcome{code: st.Code(), message: st.Message()}
	if v := header.Get("token"); len(v) == 1 {
		o.token = v[0]
	}
	return o
}

const (
	invalid   = "Missing or invalid credentials"
	expired   = "Token expired"
	forbidden = "Forbidden"
)

// TestTokens: every token type and state, on a unary method of each kind
// (mapped to a read, unmapped) and on a stream, over a real connection.
func TestTokens(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	keys := apitokentest.Mint(t, r.svc, watchAction)
	_, weekKey, err := r.svc.Create(ctx, apitoken.CreateParams{Name: "week", Lifespan: apitoken.Days7})
	require.NoError(t, err)
	gone, goneKey, err := r.svc.Create(ctx, apitoken.CreateParams{Name: "gone", Type: apitoken.FullAccess})
	require.NoError(t, err)
	_, err = r.svc.Delete(ctx, gone.ID)
	require.NoError(t, err)
	moved, oldKey, err := r.svc.Create(ctx, apitoken.CreateParams{Name: "moved", Type: apitoken.FullAccess})
	require.NoError(t, err)
	_, newKey, err := r.svc.Regenerate(ctx, moved.ID)
	require.NoError(t, err)
	r.clock.Add(8 * 24 * time.Hour)

	ok := func(name string) outcome { return outcome{codes.OK, "", name} }
	denied := outcome{codes.PermissionDenied, forbidden, ""}
	unauthenticated := outcome{codes.Unauthenticated, invalid, ""}
	tests := []struct {
		name               string
		md                 []string
		check, list, watch outcome
	}{
		{"read-only", []string{"authorization", "Bearer " + keys.ReadOnly}, ok("read-only"), denied, denied},
		{"full-access", []string{"authorization", "bearer " + keys.FullAccess}, ok("full-access"), ok("full-access"), ok("full-access")},
		{"custom", []string{"authorization", "BEARER  " + keys.Custom}, denied, denied, ok("custom")},
		{"regenerated, new key", []string{"authorization", "Bearer " + newKey}, ok("moved"), ok("moved"), ok("moved")},
		{"expired", []string{"authorization", "Bearer " + weekKey},
			outcome{codes.Unauthenticated, expired, ""}, outcome{codes.Unauthenticated, expired, ""}, outcome{codes.Unauthenticated, expired, ""}},
		{"revoked", []string{"authorization", "Bearer " + goneKey}, unauthenticated, unauthenticated, unauthenticated},
		{"regenerated, old key", []string{"authorization", "Bearer " + oldKey}, unauthenticated, unauthenticated, unauthenticated},
		{"missing", nil, unauthenticated, unauthenticated, unauthenticated},
		{"empty", []string{"authorization", ""}, unauthenticated, unauthenticated, unauthenticated},
		{"malformed", []string{"authorization", keys.FullAccess}, unauthenticated, unauthenticated, unauthenticated},
		{"basic", []string{"authorization", "Basic " + keys.FullAccess}, unauthenticated, unauthenticated, unauthenticated},
		{"unknown key", []string{"authorization", "Bearer " + strings.Repeat("0", 256)}, unauthenticated, unauthenticated, unauthenticated},
		{"another key name", []string{"x-authorization", "Bearer " + keys.FullAccess}, unauthenticated, unauthenticated, unauthenticated},
	}
	for _, tt := range tests {
		before := r.health.calls.Load()
		for _, c := range []struct {
			method string
			want   outcome
		}{{checkMethod, tt.check}, {listMethod, tt.list}, {watchMethod, tt.watch}} {
			assert.Equal(t, c.want, r.call(t, c.method, tt.md...), "%s: %s", tt.name, c.method)
		}
		reached := 0
		for _, w := range []outcome{tt.check, tt.list, tt.watch} {
			if w.code == codes.OK {
				reached++
			}
		}
		assert.EqualValues(t, reached, r.health.calls.Load()-before, "%s: refused calls never reach the handler", tt.name)
	}

	r.store.down.Store(true)
	before := r.health.calls.Load()
	for _, m := range []string{checkMethod, listMethod, watchMethod} {
		assert.Equal(t, outcome{codes.Unavailable, "Token store unavailable", ""},
			r.call(t, m, "authorization", "Bearer "+keys.FullAccess), "store down: %s fails closed", m)
	}
	assert.Equal(t, before, r.health.calls.Load())
}

// TestHostileMetadata: more than one authorization value, oversized and
// non-ASCII values are refused before the handler, with the middleware's
// answers.
func TestHostileMetadata(t *testing.T) {
	r := newRig(t)
	keys := apitokentest.Mint(t, r.svc)
	full := "Bearer " + keys.FullAccess
	twice := outcome{codes.InvalidArgument, "Only one Authorization header is allowed", ""}
	unauthenticated := outcome{codes.Unauthenticated, invalid, ""}
	for _, tt := range []struct {
		name string
		md   []string
		want outcome
	}{
		{"two values", []string{"authorization", full, "authorization", full}, twice},
		{"two values, one empty", []string{"authorization", full, "authorization", ""}, twice},
		{"two keys in one value", []string{"authorization", full + ", " + full}, unauthenticated},
		{"a key of 1 MiB", []string{"authorization", "Bearer " + strings.Repeat("a", 1<<20)}, unauthenticated},
		{"a value of spaces", []string{"authorization", strings.Repeat(" ", 64<<10)}, unauthenticated},
		{"a valid key with a 64 KiB tail", []string{"authorization", full + strings.Repeat("A", 64<<10)}, unauthenticated},
		{"binary metadata", []string{"authorization-bin", full}, unauthenticated},
	} {
		for _, m := range []string{checkMethod, watchMethod} {
			assert.Equal(t, tt.want, r.call(t, m, tt.md...), "%s: %s", tt.name, m)
		}
	}
	assert.Zero(t, r.health.calls.Load(), "no hostile call reached the handler")
	assert.Equal(t, outcome{codes.OK, "", "full-access"}, r.call(t, checkMethod, "authorization", full), "the server still answers")
}

// TestNonASCII: gRPC's client refuses to send metadata values that are not
// printable ASCII, but another client may. Such values are sent here over
// HTTP/2 as raw gRPC requests, and also given to the interceptor directly
// (with the bytes HTTP/2 clients refuse to send); all are refused.
func TestNonASCII(t *testing.T) {
	ln := bufconn.Listen(1 << 20)
	r := newRig(t)
	srv := grpc.NewServer(grpc.UnaryInterceptor(r.auth.Unary))
	healthpb.RegisterHealthServer(srv, r.health)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	keys := apitokentest.Mint(t, r.svc)

	got := r.call(t, checkMethod, "authorization", "Bearer "+keys.FullAccess+"é")
	assert.Equal(t, codes.Internal, got.code, "gRPC's client refuses: %+v", got)

	// A gRPC call by hand: POST /<method> with an empty message, the status
	// in the trailers.
	client := &http.Client{Transport: &http2.Transport{AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, _, _ string, _ *tls.Config) (net.Conn, error) { return ln.DialContext(ctx) }}}
	raw := func(authorization string) (codes.Code, string) {
		t.Helper()
		req, err := http.NewRequest("POST", "http://bufconn"+checkMethod, bytes.NewReader([]byte{0, 0, 0, 0, 0}))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("TE", "trailers")
		req.Header["authorization"] = []string{authorization}
		res, err := client.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		io.Copy(io.Discard, res.Body)
		require.Equal(t, 200, res.StatusCode)
		end := res.Trailer
		if end.Get("Grpc-Status") == "" { // a refusal is trailers-only: the status is in the header
			end = res.Header
		}
		n, err := strconv.Atoi(end.Get("Grpc-Status"))
		require.NoError(t, err, "trailers %v, header %v", res.Trailer, res.Header)
		msg, _ := url.PathUnescape(end.Get("Grpc-Message"))
		return codes.Code(n), msg
	}
	code, _ := raw("Bearer " + keys.FullAccess)
	require.Equal(t, codes.OK, code, "the raw call works with a valid key")
	calls := r.health.calls.Load()
	hostile := []string{
		"Bearer " + strings.Repeat("é", 128),
		"Bearer " + keys.FullAccess[:255] + "\u0430", // a Cyrillic a for the last character
		"Bearer\u00a0" + keys.FullAccess,             // a no-break space is no separator
		"\u202eBearer " + keys.FullAccess,
		"Bearer " + keys.FullAccess + "\xff",
		string([]byte{'B', 'e', 'a', 'r', 'e', 'r', ' ', 0xff, 0xfe}),
	}
	for _, v := range hostile {
		code, msg := raw(v)
		assert.Equal(t, codes.Unauthenticated, code, "%q", v)
		assert.Equal(t, invalid, msg, "%q", v)
	}
	assert.Equal(t, calls, r.health.calls.Load(), "no hostile call reached the handler")

	info := &grpc.UnaryServerInfo{FullMethod: checkMethod}
	handler := func(ctx context.Context, req any) (any, error) { t.Errorf("reached the handler"); return nil, nil }
	for _, v := range append(hostile, "Bearer "+keys.FullAccess+"\x00", "Bearer \x00"+keys.FullAccess[1:]) {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", v))
		_, err := r.auth.Unary(ctx, nil, info, handler)
		assert.Equal(t, codes.Unauthenticated, status.Code(err), "%q", v)
		assert.Equal(t, invalid, status.Convert(err).Message(), "%q", v)
	}
}

// TestHeaderListLimit: a value past the server's MaxHeaderListSize is
// refused by the transport, before the interceptor.
func TestHeaderListLimit(t *testing.T) {
	r := newRig(t, grpc.MaxHeaderListSize(16<<10))
	keys := apitokentest.Mint(t, r.svc)
	got := r.call(t, checkMethod, "authorization", "Bearer "+keys.FullAccess+strings.Repeat("a", 32<<10))
	assert.NotEqual(t, codes.OK, got.code, "%+v", got)
	assert.Zero(t, r.health.calls.Load())
	assert.Equal(t, "full-access", r.call(t, checkMethod, "authorization", "Bearer "+keys.FullAccess).token)
}

func TestNew(t *testing.T) {
	svc := apitokentest.New(t, apitoken.Config{})
	_, err := grpcauth.New(grpcauth.Config{})
	assert.ErrorContains(t, err, "Service is required")
	_, err = grpcauth.New(grpcauth.Config{Service: svc, Actions: map[string]string{checkMethod: "find"}})
	assert.ErrorContains(t, err, checkMethod)
	_, err = grpcauth.New(grpcauth.Config{Service: svc, Actions: map[string]string{checkMethod: findAction, listMethod: ""}})
	require.NoError(t, err)
	assert.Equal(t, []string{findAction}, svc.Actions().Actions(), "mapped actions are registered, for custom tokens")
}

// TestError: the codes and messages come from apitoken.DescribeError.
func TestError(t *testing.T) {
	assert.NoError(t, grpcauth.Error(nil))
	for _, tt := range []struct {
		err  error
		code codes.Code
	}{
		{apitoken.ErrNoCredentials, codes.Unauthenticated},
		{apitoken.ErrMalformedHeader, codes.Unauthenticated},
		{apitoken.ErrInvalidKey, codes.Unauthenticated},
		{apitoken.ErrExpired, codes.Unauthenticated},
		{apitoken.ErrMultipleHeaders, codes.InvalidArgument},
		{apitoken.ErrForbidden, codes.PermissionDenied},
		{apitoken.ErrUnavailable, codes.Unavailable},
		{apitoken.ErrTooManyFailures, codes.ResourceExhausted},
		{apitoken.ErrNotFound, codes.NotFound},
		{apitoken.ErrStale, codes.FailedPrecondition},
		{errors.New("pq: password=hunter2"), codes.Internal},
	} {
		st := status.Convert(grpcauth.Error(tt.err))
		assert.Equal(t, tt.code, st.Code(), "%v", tt.err)
		assert.Equal(t, apitoken.DescribeError(tt.err).Message, st.Message(), "%v", tt.err)
	}
}
