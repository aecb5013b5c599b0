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
// tokens may have, so that it hides what would be refused; with admin
// tokens, who the administrator is and which admin permissions their
// tokens may be granted.
func (h *handler) me(w http.ResponseWriter, r *http.Request) error {
	tok, byToken := apitoken.FromContext(r.Context())
	perms := []string{}
	for _, p := range Permissions {
		if (!byToken || tok.Allows(p)) && h.authorize(r, p) == nil {
			perms = append(perms, p)
		}
	}
	me := map[string]any{
		"permissions": perms,
		"durations":   h.svc.Durations(),
		"canReveal":   h.svc.CanReveal(),
		"adminTokens": h.owner != nil,
	}
	if id, _ := h.caller(r); h.owner != nil && id != "" {
		grantable := []string{} // an admin token grants nothing (see errByToken)
		if !byToken {
			// A directory that cannot answer takes the admin tokens'
			// checkboxes away, not the whole screen.
			if p, err := h.svc.OwnerPermissions(r.Context(), id); err == nil {
				grantable = p
			} else {
				h.log.WarnContext(r.Context(), "admin: the administrator's permissions for admin tokens are unknown", "err", err)
			}
		}
		me["id"], me["adminPermissions"] = id, grantable
	}
	return writeData(w, http.StatusOK, me)
}

func (h *handler) actions(w http.ResponseWriter, r *http.Request) error {
	return writeData(w, http.StatusOK, h.svc.Actions().Groups())
}

// create issues a token of kind k; an admin token belongs to the
// administrator who asks.
func (h *handler) create(k kindRoutes) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var p apitoken.CreateParams
		if err := decode(r, &p); err != nil {
			return err
		}
		p.Kind = k.kind
		if k.kind == apitoken.KindAdmin {
			who, byToken := h.caller(r)
			switch {
			case byToken:
				return errByToken
			case who == "":
				return ErrUnauthenticated
			}
			p.Owner = who
		}
		t, key, err := h.svc.Create(r.Context(), p)
		if err != nil {
			return err
		}
		setETag(w, t)
		return writeData(w, http.StatusCreated, withKey{tokenJSON(t), key})
	}
}

func (h *handler) get(k kindRoutes) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		t, err := h.token(r.Context(), k, r.PathValue("id"))
		if err != nil {
			return err
		}
		setETag(w, t)
		who, byToken := h.caller(r)
		if k.kind == apitoken.KindAdmin && (byToken || who != t.Owner) {
			return writeData(w, http.StatusOK, tokenJSON(t)) // its key is its owner's alone
		}
		return h.writeWithKey(w, r, t)
	}
}

// writeWithKey writes t and, as Strapi 5 does, its key when it is
// recoverable; others without the field.
func (h *handler) writeWithKey(w http.ResponseWriter, r *http.Request, t *apitoken.Token) error {
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

func (h *handler) update(k kindRoutes) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var b updateBody
		if err := decode(r, &b); err != nil {
			return err
		}
		// An admin token is changed by its owner only: another
		// administrator could grant it what they do not hold
		// themselves, or lift its restrictions.
		if _, err := h.manage(r, k, r.PathValue("id"), true); err != nil {
			return err
		}
		return h.updateToken(w, r, b)
	}
}

func (h *handler) updateToken(w http.ResponseWriter, r *http.Request, b updateBody) error {
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

func (h *handler) delete(k kindRoutes) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := h.manage(r, k, r.PathValue("id"), false); err != nil {
			return err
		}
		t, err := h.svc.Delete(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return writeData(w, http.StatusOK, tokenJSON(t))
	}
}

// regenerate takes an optional body {"overlap": ms}: how long the old key
// keeps working. Without it the old key dies at once, as in Strapi. An
// admin token is regenerated by its owner only.
func (h *handler) regenerate(k kindRoutes) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var b struct {
			Overlap int64 `json:"overlap"`
		}
		if err := decode(r, &b); err != nil && err != errEmptyBody {
			return err
		}
		if _, err := h.manage(r, k, r.PathValue("id"), true); err != nil {
			return err
		}
		return h.regenerateToken(w, r, b.Overlap)
	}
}

func (h *handler) regenerateToken(w http.ResponseWriter, r *http.Request, overlapMS int64) error {
	// Clamped on both sides so that the conversion cannot overflow (a huge
	// negative overlap wrapped into a valid one); the Service refuses
	// anything over its limit.
	overlap := time.Duration(min(max(overlapMS, -1), math.MaxInt64/int64(time.Millisecond))) * time.Millisecond
	t, key, err := h.svc.RegenerateWithOverlap(r.Context(), r.PathValue("id"), overlap)
	if err != nil {
		return err
	}
	// Strapi answers the id and the key; the token comes too, so that a
	// screen can show the new key's hint and the old key's deadline.
	return writeData(w, http.StatusCreated, withKey{tokenJSON(t), key})
}

// reveal shows a key again from its encrypted copy; an admin token's, to
// its owner only.
func (h *handler) reveal(k kindRoutes) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := h.manage(r, k, r.PathValue("id"), true); err != nil {
			return err
		}
		key, err := h.svc.RevealKey(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return writeData(w, http.StatusOK, map[string]string{"accessKey": key})
	}
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
