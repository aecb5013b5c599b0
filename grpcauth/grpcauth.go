// Package grpcauth guards gRPC servers with apitoken: unary and stream
// server interceptors that read the "authorization" metadata as the
// middleware reads the Authorization header, authorize each method's
// action, and put the token in the handler's context, where
// apitoken.FromContext and apitoken.Can find it.
//
//	auth, err := grpcauth.New(grpcauth.Config{Service: svc, Actions: map[string]string{
//		"/articles.v1.Articles/List":   "api::article.article.find",
//		"/articles.v1.Articles/Create": "api::article.article.create",
//	}})
//	srv := grpc.NewServer(grpc.UnaryInterceptor(auth.Unary), grpc.StreamInterceptor(auth.Stream))
//
// Refused calls never reach the handler. They end with the status of
// Error: the message of apitoken.DescribeError, and the gRPC code of its
// HTTP status.
//
// It is a module of its own, so that programs that do not use gRPC do not
// build it.
package grpcauth

import (
	"context"
	"errors"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/go-apitoken/apitoken"
)

// Config configures the interceptors.
type Config struct {
	// Service verifies the tokens. Required.
	Service *apitoken.Service

	// Actions maps full method names, "/package.Service/Method", to the
	// action their callers' tokens must be allowed, such as
	// "api::article.article.find" (which read-only tokens may call). New
	// registers them with the Service's Actions, so that custom tokens may
	// be granted them.
	Actions map[string]string

	// Action, when set, gives the action of the methods that Actions does
	// not list. Register what it returns with the Service's Actions
	// (svc.Actions().Register), as New does Actions', so that custom tokens
	// may be granted it.
	Action func(fullMethod string) string
}

// Interceptors holds the server interceptors of a Config. They are safe for
// concurrent use.
//
// A method that neither Actions nor Action names declares no action, and
// is open to full-access tokens only, as a route guarded by
// apitoken.Service.Require() with no action: a method added to a server and
// forgotten here fails closed.
type Interceptors struct {
	svc     *apitoken.Service
	actions map[string]string
	action  func(string) string
}

// New returns the interceptors of cfg. It fails when Service is missing or
// an action of Actions is malformed.
func New(cfg Config) (*Interceptors, error) {
	if cfg.Service == nil {
		return nil, errors.New("grpcauth: Config.Service is required")
	}
	a := &Interceptors{svc: cfg.Service, actions: make(map[string]string, len(cfg.Actions)), action: cfg.Action}
	for method, action := range cfg.Actions {
		if action != "" {
			if _, err := apitoken.ParseAction(action); err != nil {
				return nil, errors.New("grpcauth: method " + method + ": " + err.Error())
			}
			cfg.Service.Actions().Register(action)
		}
		a.actions[method] = action
	}
	return a, nil
}

// Unary is a grpc.UnaryServerInterceptor: grpc.UnaryInterceptor(a.Unary),
// or one of grpc.ChainUnaryInterceptor's.
func (a *Interceptors) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := a.check(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// Stream is a grpc.StreamServerInterceptor: grpc.StreamInterceptor(a.Stream),
// or one of grpc.ChainStreamInterceptor's. The call is checked once, when
// the stream opens.
func (a *Interceptors) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := a.check(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &stream{ss, ctx})
}

// stream is a ServerStream whose context carries the token.
type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }

// check authorizes the call of method whose context is ctx, and returns
// ctx with its token.
func (a *Interceptors) check(ctx context.Context, method string) (context.Context, error) {
	action, ok := a.actions[method]
	if !ok && a.action != nil {
		action = a.action(method)
	}
	values := metadata.ValueFromIncomingContext(ctx, "authorization")
	var err error
	if action == "" {
		ctx, err = a.svc.CheckAuthorization(ctx, client(ctx), values)
	} else {
		ctx, err = a.svc.CheckAuthorization(ctx, client(ctx), values, action)
	}
	if err != nil {
		return nil, Error(err)
	}
	return ctx, nil
}

// client returns the host of the caller's address, which audit events name.
func client(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	addr := p.Addr.String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// Error returns the gRPC status error for an error of apitoken, such as
// apitoken.Can's inside a handler: apitoken.DescribeError's message, with the
// code of its HTTP status. Missing, malformed, unknown and expired
// credentials are codes.Unauthenticated, apitoken.ErrForbidden
// codes.PermissionDenied, apitoken.ErrUnavailable codes.Unavailable, more
// than one authorization value codes.InvalidArgument, and errors the table
// does not know codes.Internal, whose message says nothing of the cause.
// Error(nil) is nil.
func Error(err error) error {
	if err == nil {
		return nil
	}
	e := apitoken.DescribeError(err)
	return status.Error(Code(e.Status), e.Message)
}

// Code returns the gRPC code of an HTTP status of apitoken.DescribeError, as
// the documentation of google.rpc.Code pairs them.
func Code(httpStatus int) codes.Code {
	switch httpStatus {
	case 400:
		return codes.InvalidArgument
	case 412:
		return codes.FailedPrecondition
	case 401:
		return codes.Unauthenticated
	case 403:
		return codes.PermissionDenied
	case 404:
		return codes.NotFound
	case 429:
		return codes.ResourceExhausted
	case 503:
		return codes.Unavailable
	}
	return codes.Internal
}
