package grpcauth_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/grpcauth"
)

// bareServer answers Check without looking at any token.
type bareServer struct {
	healthpb.UnimplementedHealthServer
}

func (bareServer) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// BenchmarkUnary: a unary call over bufconn with a read-only key, through
// the interceptor and to a bare server without one (the same metadata is
// sent to both). The difference is what the interceptor costs a call.
func BenchmarkUnary(b *testing.B) {
	svc := apitokentest.New(b, apitoken.Config{})
	auth, err := grpcauth.New(grpcauth.Config{Service: svc, Actions: map[string]string{checkMethod: findAction}})
	if err != nil {
		b.Fatal(err)
	}
	keys := apitokentest.Mint(b, svc)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+keys.ReadOnly)
	for _, bc := range []struct {
		name string
		opts []grpc.ServerOption
	}{
		{"bare", nil},
		{"interceptor", []grpc.ServerOption{grpc.UnaryInterceptor(auth.Unary)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			client := serve(b, bareServer{}, bc.opts...)
			req := &healthpb.HealthCheckRequest{}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.Check(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInterceptor: the interceptor alone, without a connection, on an
// allowed call (the handler does nothing) and on a refused one.
func BenchmarkInterceptor(b *testing.B) {
	svc := apitokentest.New(b, apitoken.Config{})
	auth, err := grpcauth.New(grpcauth.Config{Service: svc, Actions: map[string]string{checkMethod: findAction}})
	if err != nil {
		b.Fatal(err)
	}
	keys := apitokentest.Mint(b, svc)
	info := &grpc.UnaryServerInfo{FullMethod: checkMethod}
	handler := func(ctx context.Context, req any) (any, error) { return nil, nil }
	for _, bc := range []struct{ name, value string }{
		{"allowed", "Bearer " + keys.ReadOnly},
		{"malformed", "Basic x"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", bc.value))
			b.ReportAllocs()
			for b.Loop() {
				auth.Unary(ctx, nil, info, handler)
			}
		})
	}
}
