package admin

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/go-apitoken/apitoken"
)

// me tells the screen what the administrator may do and which lifespans
// tokens may have, so that it hides what would be refused.
func (h *handler) me(w http.ResponseWriter, r *http.Request) error {
	perms := []string{}
	for _, p := range Permissions {
		if h.authorize(r, p) == nil {
			perms = append(perms, p)
		}
	}
	return writeData(w, http.StatusOK, map[string]any{
		"permissions": perms,
		"durations":   h.svc.Durations(),
		"canReveal":   h.svc.CanReveal(),
	})
}

func (h *handler) actions(w http.ResponseWriter, r *http.Request) error {
	return writeData(w, http.StatusOK, h.svc.Actions().Groups())
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) error {
	var p apitoken.CreateParams
	if err := decode(r, &p); err != nil {
		return err
	}
	t, key, err := h.svc.Create(r.Context(), p)
	if err != nil {
		return err
	}
	setETag(w, t)
	return writeData(w, http.StatusCreated, withKey{tokenJSON(t), key})
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) error {
	t, err := h.svc.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	setETag(w, t)
	// As Strapi 5 does, a token whose key is recoverable comes with it;
	// others without the field.
	if h.svc.CanReveal() && t.EncryptedKey != "" {
		key, err := h.svc.RevealKey(r.Context(), t.ID)
		switch {
		case err == nil:
			return writeData(w, http.StatusOK, withKey{tokenJSON(t), key})
		case !errors.Is(err, apitoken.ErrNotRecoverable):
			return err
		}
	}
	return writeData(w, http.StatusOK, tokenJSON(t))
}

// updateBody is UpdateParams as JSON, where an absent lifespan leaves the
// expiry alone and a null one makes the token unlimited.
type updateBody struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Type        *apitoken.Type  `json:"type"`
	Lifespan    json.RawMessage `json:"lifespan"`
	Permissions []string        `json:"permissions"`
	apitoken.PolicyParams
}

func (h *handler) update(w http.ResponseWriter, r *http.Request) error {
	var b updateBody
	if err := decode(r, &b); err != nil {
		return err
	}
	versions, err := ifMatch(r)
	if err != nil {
		return err
	}
	p := apitoken.UpdateParams{Name: b.Name, Description: b.Description, Type: b.Type, Permissions: b.Permissions,
		PolicyParams: b.PolicyParams, IfVersion: versions}
	if b.Lifespan != nil {
		var d apitoken.Duration
		if err := d.UnmarshalJSON(b.Lifespan); err != nil {
			return bodyError("lifespan", "lifespan must be null or a number of milliseconds")
		}
		p.Lifespan = &d
	}
	t, err := h.svc.Update(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	setETag(w, t)
	return writeData(w, http.StatusOK, tokenJSON(t))
}

func (h *handler) delete(w http.ResponseWriter, r *http.Request) error {
	t, err := h.svc.Delete(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeData(w, http.StatusOK, tokenJSON(t))
}

// regenerate takes an optional body {"overlap": ms}: how long the old key
// keeps working. Without it the old key dies at once, as in Strapi.
func (h *handler) regenerate(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Overlap int64 `json:"overlap"`
	}
	if err := decode(r, &b); err != nil && err != errEmptyBody {
		return err
	}
	// Clamped on both sides so that the conversion cannot overflow (a huge
	// negative overlap wrapped into a valid one); the Service refuses
	// anything over its limit.
	overlap := time.Duration(min(max(b.Overlap, -1), math.MaxInt64/int64(time.Millisecond))) * time.Millisecond
	t, key, err := h.svc.RegenerateWithOverlap(r.Context(), r.PathValue("id"), overlap)
	if err != nil {
		return err
	}
	// Strapi answers the id and the key; the token comes too, so that a
	// screen can show the new key's hint and the old key's deadline.
	return writeData(w, http.StatusCreated, withKey{tokenJSON(t), key})
}

// reveal shows a key again from its encrypted copy.
func (h *handler) reveal(w http.ResponseWriter, r *http.Request) error {
	key, err := h.svc.RevealKey(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeData(w, http.StatusOK, map[string]string{"accessKey": key})
}

// withKey is a token with its key, as create answers.
type withKey struct {
	*apitoken.Token
	AccessKey string `json:"accessKey"`
}

// tokenJSON returns t as Strapi writes it: permissions always a list.
func tokenJSON(t *apitoken.Token) *apitoken.Token {
	if t.Permissions != nil {
		return t
	}
	c := *t
	c.Permissions = []string{}
	return &c
}
