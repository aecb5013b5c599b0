package apitoken

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// SelfRotateAction is the action a token needs to regenerate itself
// through SelfHandler. Grant it to a custom token; full-access tokens may
// perform every action.
const SelfRotateAction = "plugin::api-tokens.self.rotate"

// ErrRotationInProgress: the token's previous key still works (a graceful
// regeneration's overlap), so it may not rotate itself again: the key that
// asked might be the old one.
var ErrRotationInProgress = errors.New("apitoken: the token's previous key still works; rotate again when the overlap ends")

// maxSelfBody bounds the body of a self-rotation.
const maxSelfBody = 1 << 10

// SelfHandler serves the endpoints a token calls about itself, as GitLab's
// personal_access_tokens/self, authenticated by the token's own key:
//
//	GET  /self         the token as the admin API shows it, never its key
//	POST /self/rotate  a new key, shown once; the body {"overlap": ms}
//	                   keeps the old key working that long (at most 30
//	                   days), else it stops at once
//
// Any valid token may read itself; rotating needs SelfRotateAction, so
// that CI rotates its own key without an admin credential. A token in the
// overlap of an earlier rotation may not rotate (409,
// ErrRotationInProgress), since the key asking may be the old one. Mount
// it under a prefix with http.StripPrefix.
func (s *Service) SelfHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /self", s.Authenticated(http.HandlerFunc(s.serveSelf)))
	mux.Handle("POST /self/rotate", s.Require(SelfRotateAction)(http.HandlerFunc(s.serveRotate)))
	return mux
}

func (s *Service) serveSelf(w http.ResponseWriter, r *http.Request) {
	t, _ := FromContext(r.Context())
	t = t.Clone()
	s.pastOverlap(t)
	writeSelf(w, http.StatusOK, t, "")
}

func (s *Service) serveRotate(w http.ResponseWriter, r *http.Request) {
	t, _ := FromContext(r.Context())
	// The only key is "overlap", exactly: encoding/json would match any
	// case of it.
	var body map[string]*int64
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSelfBody))
	if raw = bytes.TrimSpace(raw); err == nil && len(raw) > 0 {
		if raw[0] != '{' {
			err = errors.New("not an object")
		} else {
			err = json.Unmarshal(raw, &body) // refuses anything after the object
		}
	}
	_, hasOverlap := body["overlap"]
	if err != nil || len(body) > 1 || len(body) == 1 && !hasOverlap {
		v := &ValidationError{}
		v.add("body", `the body must be empty or {"overlap": milliseconds}`)
		s.errorHandler(w, r, v)
		return
	}
	var overlap time.Duration
	if ms := body["overlap"]; ms != nil {
		if *ms < 0 || *ms > int64(maxOverlap/time.Millisecond) {
			v := &ValidationError{}
			v.add("overlap", fmt.Sprintf("overlap must be between 0 and %d days, in milliseconds", maxOverlap/(24*time.Hour)))
			s.errorHandler(w, r, v)
			return
		}
		overlap = time.Duration(*ms) * time.Millisecond
	}
	if p := t.PreviousKeyExpiresAt; p != nil && s.now().Before(*p) {
		s.errorHandler(w, r, ErrRotationInProgress)
		return
	}
	// The key that asks must still be the token's current one when the
	// new key lands (a rotation may have come between).
	presented, _ := splitBearer(r.Header.Get("Authorization"))
	current := s.hasher.Sum(presented)
	nt, key, err := s.regenerate(r.Context(), t.ID, overlap, &current)
	if errors.Is(err, ErrStale) {
		err = ErrRotationInProgress
	}
	if err != nil {
		s.errorHandler(w, r, err)
		return
	}
	writeSelf(w, http.StatusOK, nt, key)
}

// writeSelf writes t, and key if it is not "", as Strapi's {"data": …}.
func writeSelf(w http.ResponseWriter, status int, t *Token, key string) {
	if t.Permissions == nil {
		t.Permissions = []string{}
	}
	data := any(t)
	if key != "" {
		data = struct {
			*Token
			AccessKey string `json:"accessKey"`
		}{t, key}
	}
	b, err := json.Marshal(struct {
		Data any `json:"data"`
	}{data})
	if err != nil {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Cache-Control"] = noStore
	w.WriteHeader(status)
	w.Write(b)
}
