package apitoken

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// EventKind names what happened to a token.
type EventKind string

// The audit events.
const (
	EventCreated     EventKind = "created"
	EventUpdated     EventKind = "updated"
	EventRegenerated EventKind = "regenerated"
	EventDeleted     EventKind = "deleted"
	EventSaltMoved   EventKind = "salt-moved"  // a key's hash moved to the current salt
	EventExpiredKey  EventKind = "expired-key" // an expired key was used
	EventAuthFailed  EventKind = "auth-failed" // a request was refused for its credentials
	EventLeaked      EventKind = "leaked"      // a key was reported leaked, and its token revoked or disabled (RevokeLeaked)
)

// Event is an audit record. It names the token, never its key.
type Event struct {
	Kind      EventKind
	Time      time.Time
	TokenID   string // "" when no token was found
	TokenName string
	Err       error  // why authentication failed, for EventExpiredKey and EventAuthFailed
	Client    string // the client's address, for events of requests
	Where     string // where a leaked key was found, for EventLeaked

	// Actor is who made the change, as WithActor named them (the admin
	// handler names the administrator), or the owner of the admin token
	// it was made with; "" when not known.
	Actor string
	// ActorTokenID is the token the change was made with, when it was
	// made with one: an admin token, or a token rotating itself.
	ActorTokenID string
}

var actorKey = &contextKey{"actor"}

// WithActor returns a copy of ctx that names who acts through it, such as
// an administrator's id, so that the audit events of what is done with it
// say who did it (Event.Actor). The admin handler names the administrator
// of each request (admin.Config.Owner); a host calling the Service itself
// names its own.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey, actor)
}

// LogValue makes slog record the event's fields.
func (e Event) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("kind", string(e.Kind))}
	if e.TokenID != "" {
		attrs = append(attrs, slog.String("token_id", e.TokenID), slog.String("token_name", e.TokenName))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("reason", e.Err.Error()))
	}
	if e.Client != "" {
		attrs = append(attrs, slog.String("client", e.Client))
	}
	if e.Where != "" {
		attrs = append(attrs, slog.String("where", e.Where))
	}
	if e.Actor != "" {
		attrs = append(attrs, slog.String("actor", e.Actor))
	}
	if e.ActorTokenID != "" {
		attrs = append(attrs, slog.String("actor_token_id", e.ActorTokenID))
	}
	return slog.GroupValue(attrs...)
}

// caller is the client of a request, which audit events name: an HTTP
// request, whose address is read only when an event is recorded, or an
// address given by a server that is not net/http (CheckAuthorization).
type caller struct {
	r    *http.Request
	addr string
}

// callerName names c's client: by clientName for a request, else the
// address it was given.
func (s *Service) callerName(c caller) string {
	if c.r != nil {
		return s.clientName(c.r)
	}
	return c.addr
}

// event records an audit event in the log and passes it to Config.OnEvent.
// c is the client of the request that caused it, if any.
func (s *Service) event(ctx context.Context, kind EventKind, t *Token, err error, c caller) {
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
	}
	if s.onEvent == nil && !s.log.Enabled(ctx, level) {
		return // so that a flood of bad keys costs nothing here
	}
	e := Event{Kind: kind, Time: s.now(), Err: err, Client: s.callerName(c)}
	if t != nil {
		e.TokenID, e.TokenName = t.ID, t.Name
	}
	if err == nil {
		e.Actor, e.ActorTokenID = actor(ctx)
	}
	s.emit(ctx, level, e)
}

// actor returns who acts through ctx (WithActor) and the token they act
// with, if ctx carries one; an admin token's owner acts, unless named.
func actor(ctx context.Context) (who, tokenID string) {
	who, _ = ctx.Value(actorKey).(string)
	if t, ok := tokenFrom(ctx); ok {
		tokenID = t.ID
		if who == "" && t.Kind == KindAdmin {
			who = t.Owner
		}
	}
	return who, tokenID
}

// emit logs e at level and passes it to Config.OnEvent.
func (s *Service) emit(ctx context.Context, level slog.Level, e Event) {
	s.log.LogAttrs(ctx, level, "apitoken: "+string(e.Kind), slog.Any("event", e))
	if s.onEvent != nil {
		s.onEvent(ctx, e)
	}
}
