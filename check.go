package apitoken

import "context"

// CheckAuthorization is Check for servers that are not net/http, such as
// gRPC's: values are the request's Authorization values (in gRPC, its
// "authorization" metadata), parsed as the middleware parses the header,
// and client names the caller in audit events (its address, or ""). With no
// actions only FullAccess tokens pass.
//
// It returns ctx carrying the token, for FromContext and Can, or Check's
// errors, which DescribeError describes: ErrNoCredentials for no value,
// ErrMultipleHeaders for more than one, ErrMalformedHeader, ErrInvalidKey,
// ErrExpired, ErrForbidden and ErrUnavailable. Failed authentications are
// recorded as the middleware records them (EventAuthFailed, EventExpiredKey);
// Config.FailureLimit, which tells clients apart by their *http.Request, is
// not applied. The actions are not registered with the Service's Actions:
// register them once at start-up, as Require does.
func (s *Service) CheckAuthorization(ctx context.Context, client string, values []string, actions ...string) (context.Context, error) {
	c := caller{addr: client}
	t, err := s.authenticateValues(ctx, values, c, KindContentAPI)
	if t, err = allows(t, err, actions); err == nil {
		_, err = s.spend(ctx, t)
	}
	if err != nil {
		s.failed(ctx, t, err, c)
		return ctx, err
	}
	return NewContext(ctx, t), nil
}
