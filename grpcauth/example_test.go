package grpcauth_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/grpcauth"
	"github.com/go-apitoken/apitoken/memstore"
)

// Guard a gRPC server: each method's action from a map, the token in the
// handlers' context. Check is mapped to a find action, so read-only tokens
// may call it; List is not mapped, so only full-access tokens may.
func ExampleNew() {
	ctx := context.Background()
	svc, err := apitoken.New(apitoken.Config{Store: memstore.New(), Salt: "change-me-to-a-random-secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close(ctx)

	auth, err := grpcauth.New(grpcauth.Config{Service: svc, Actions: map[string]string{
		"/grpc.health.v1.Health/Check": "api::health.health.find", // read-only tokens may call it
	}})
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(auth.Unary), grpc.StreamInterceptor(auth.Stream))
	healthpb.RegisterHealthServer(srv, health.NewServer())

	ln := bufconn.Listen(1 << 20) // in a real server: net.Listen("tcp", ":50051")
	go srv.Serve(ln)
	defer srv.Stop()
	conn, err := grpc.NewClient("passthrough:///bufconn", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)

	_, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "reader", Type: apitoken.ReadOnly})
	if err != nil {
		log.Fatal(err)
	}
	withKey := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	_, err = client.Check(withKey, &healthpb.HealthCheckRequest{})
	fmt.Println("Check:", status.Code(err))
	_, err = client.List(withKey, &healthpb.HealthListRequest{})
	fmt.Println("List:", status.Code(err), status.Convert(err).Message())
	_, err = client.Check(ctx, &healthpb.HealthCheckRequest{})
	fmt.Println("no key:", status.Code(err), status.Convert(err).Message())
	// Output:
	// Check: OK
	// List: PermissionDenied Forbidden
	// no key: Unauthenticated Missing or invalid credentials
}

// Inside a handler, the token is in the context, and Error turns
// apitoken.Can's refusal into the interceptor's status.
func ExampleError() {
	handler := func(ctx context.Context) error {
		if err := apitoken.Can(ctx, "api::article.article.delete"); err != nil {
			return grpcauth.Error(err)
		}
		tok, _ := apitoken.FromContext(ctx)
		fmt.Println("deleted by", tok.Name)
		return nil
	}
	err := handler(context.Background()) // no token: the interceptor was not run
	fmt.Println(status.Code(err), status.Convert(err).Message())
	err = handler(apitoken.NewContext(context.Background(), &apitoken.Token{Name: "ci", Type: apitoken.FullAccess}))
	fmt.Println(err)
	// Output:
	// Unauthenticated Missing or invalid credentials
	// deleted by ci
	// <nil>
}
