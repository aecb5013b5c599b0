// Package apitoken issues, stores and verifies named API tokens the way Strapi's
// "API Tokens" feature does, and protects net/http handlers with them.
//
// A token has a type that decides what it may do: ReadOnly tokens may only call
// find and findOne actions, FullAccess tokens may call anything, and Custom
// tokens may call exactly the actions in their permission list. Only a salted
// HMAC-SHA512 of each key is stored; the key itself is returned once, by
// Service.Create and Service.Regenerate.
package apitoken

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"
)

// Type says what a token may do.
type Type string

// The token types, spelled as in Strapi's API.
const (
	ReadOnly   Type = "read-only"
	FullAccess Type = "full-access"
	Custom     Type = "custom"
)

// Valid reports whether t is one of the three token types.
func (t Type) Valid() bool {
	return t == ReadOnly || t == FullAccess || t == Custom
}

// Kind says which API a token opens.
type Kind string

// The token kinds, spelled as Strapi's kind column.
const (
	// KindContentAPI tokens authenticate the content API: the
	// middleware, Check, CheckAuthorization and Verify. A token without a
	// kind (a row from before kinds, Strapi's NULL) is one.
	KindContentAPI Kind = "content-api"
	// KindAdmin tokens authenticate admin routes only (RequireAdmin), on
	// behalf of the administrator who owns them, with admin permissions
	// no wider than the owner's (Config.OwnerPermissions). The content
	// API refuses them, and admin routes refuse content-API tokens.
	KindAdmin Kind = "admin"
)

// Valid reports whether k is a token kind.
func (k Kind) Valid() bool { return k == KindContentAPI || k == KindAdmin }

// Resolved returns k, or KindContentAPI for "": the kind of a token stored
// without one (a row from before kinds, Strapi's NULL).
func (k Kind) Resolved() Kind {
	if k == "" {
		return KindContentAPI
	}
	return k
}

// MarshalJSON writes k resolved, so that a token's JSON always names its
// kind.
func (k Kind) MarshalJSON() ([]byte, error) { return json.Marshal(string(k.Resolved())) }

// Duration is a token's lifespan: how long after creation (or after the edit
// that set it) the token expires. The zero value, Unlimited, never expires.
//
// In JSON a Duration is a number of milliseconds, or null for Unlimited, as in
// Strapi's API.
type Duration time.Duration

// The lifespans Strapi offers. Config.Durations can allow others.
const (
	Unlimited Duration = 0
	Days7     Duration = Duration(7 * 24 * time.Hour)
	Days30    Duration = Duration(30 * 24 * time.Hour)
	Days90    Duration = Duration(90 * 24 * time.Hour)
)

// DefaultDurations are the lifespans a token may have unless Config.Durations
// says otherwise.
var DefaultDurations = []Duration{Days7, Days30, Days90, Unlimited}

// Milliseconds returns d in whole milliseconds, the unit of Strapi's lifespan.
func (d Duration) Milliseconds() int64 { return time.Duration(d).Milliseconds() }

// String returns d as "unlimited", whole days such as "30d", or a Go duration.
func (d Duration) String() string {
	switch {
	case d == Unlimited:
		return "unlimited"
	case time.Duration(d)%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(time.Duration(d)/(24*time.Hour)), 10) + "d"
	default:
		return time.Duration(d).String()
	}
}

// ParseDuration parses "unlimited", a number of days such as "30d", or a Go
// duration such as "12h". It does not check that the lifespan is allowed.
func ParseDuration(s string) (Duration, error) {
	if s == "unlimited" || s == "0" {
		return Unlimited, nil
	}
	if n := len(s); n > 1 && n <= 6 && s[n-1] == 'd' {
		days, err := strconv.ParseUint(s[:n-1], 10, 16)
		if err == nil && days > 0 {
			return Duration(time.Duration(days) * 24 * time.Hour), nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d > 0 && d <= 100*365*24*time.Hour {
		return Duration(d), nil
	}
	return 0, fmt.Errorf("apitoken: invalid duration %q: want unlimited, days such as 30d, or a duration such as 12h", truncate(s, 40))
}

// MarshalJSON writes d in milliseconds, or null for Unlimited.
func (d Duration) MarshalJSON() ([]byte, error) {
	if d == Unlimited {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, d.Milliseconds(), 10), nil
}

// UnmarshalJSON reads milliseconds or null. It refuses anything else with a
// *ValidationError on the lifespan field, where a Duration appears in JSON.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Unlimited
		return nil
	}
	var ms int64
	if err := json.Unmarshal(b, &ms); err != nil || ms < 0 || ms > int64(100*365*24*time.Hour/time.Millisecond) {
		v := &ValidationError{}
		v.add("lifespan", "lifespan must be null or a positive number of milliseconds")
		return v
	}
	*d = Duration(time.Duration(ms) * time.Millisecond)
	return nil
}

// Token is an API token as stored and listed. It never holds the key or its
// hash, and leaves its encrypted copy out of JSON, String and LogValue, so it
// is safe to log, print and return in list responses.
type Token struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Type        Type       `json:"type"`
	Lifespan    Duration   `json:"lifespan"`
	ExpiresAt   *time.Time `json:"expiresAt"`  // nil: never expires
	LastUsedAt  *time.Time `json:"lastUsedAt"` // nil: never used
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	Permissions []string   `json:"permissions"` // only for Custom tokens; sorted

	// Kind is the API the token opens: KindContentAPI or KindAdmin. A
	// store returns what it keeps; "" reads as KindContentAPI.
	Kind Kind `json:"kind"`
	// Owner is the id of the administrator an admin token acts for, as
	// the host names its administrators; "" for content-API tokens. The
	// admin token's Permissions are admin permissions (such as
	// "admin::api-tokens.read"), no wider than the owner's.
	Owner string `json:"owner,omitempty"`

	// KeyHint is what of the key may be shown, so that people can tell
	// which key a token holds: the key's prefix and its last 4 characters,
	// as "apitoken_…Ab12", or "…ab12" for a key without prefix. It is never
	// more of the key, and "" where the store keeps none (strapistore) or
	// for a key made before hints were kept.
	KeyHint string `json:"keyHint,omitempty"`

	// PreviousKeyExpiresAt is when the previous key of a graceful
	// regeneration (RegenerateWithOverlap) stops working; nil when there is
	// none. The Service's Get and List leave it nil once that time has
	// passed; a store returns what it keeps.
	PreviousKeyExpiresAt *time.Time `json:"previousKeyExpiresAt,omitempty"`

	// EncryptedKey is the key encrypted with Config.EncryptionKey in
	// Strapi's "v1:<iv>:<ciphertext>:<tag>" form, or "" when keys are not
	// recoverable. It is never encoded, printed or logged.
	EncryptedKey string `json:"-"`

	// Policy restricts the key further; its zero value restricts nothing.
	Policy

	// SaltID names the salt that hashed the key (see Hasher.ID), so that
	// tokens still on a previous salt can be counted after a rotation. It
	// is "" for keys hashed before the salt was identified, e.g. by Strapi.
	SaltID string `json:"-"`

	// PreviousSaltID is the SaltID of the previous key (see
	// PreviousKeyExpiresAt), which SetKey keeps from the replaced key: a
	// previous key never moves to the current salt, so the salt that
	// hashed it must stay configured until it stops working. It is "" when
	// there is no previous key, or its salt was not identified (a key from
	// Strapi, or one replaced before stores kept it).
	PreviousSaltID string `json:"-"`
}

// Expired reports whether t has an expiry that is not after now.
func (t *Token) Expired(now time.Time) bool {
	return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)
}

// Version identifies the state of t's editable fields: name, description,
// type, lifespan, expiry, permissions and policy (not the quota's uses
// left). It changes whenever one of them
// does, and only then, so that a use or a new key does not make an edit
// stale. UpdateParams.IfVersion and the admin API's ETag use it.
func (t *Token) Version() string {
	h := sha256.New()
	field := func(s string) {
		h.Write(binary.AppendUvarint(nil, uint64(len(s))))
		h.Write([]byte(s))
	}
	field(t.Name)
	field(t.Description)
	field(string(t.Type))
	field(strconv.FormatInt(int64(t.Lifespan), 10))
	if t.ExpiresAt != nil {
		field(strconv.FormatInt(t.ExpiresAt.UnixMilli(), 10))
	} else {
		field("never")
	}
	for _, p := range slices.Sorted(slices.Values(t.Permissions)) {
		field(p)
	}
	if !t.Policy.IsZero() {
		field("policy")
		field(strconv.FormatBool(t.Disabled))
		for _, p := range t.AllowedIPs {
			field(p.String())
		}
		if r := t.RateLimit; r != nil {
			field(fmt.Sprintf("rate %d/%d", r.Requests, r.Window))
		}
		if q := t.Quota; q != nil {
			field(fmt.Sprintf("quota %d %s %d", q.Limit, q.Refill, q.RefilledAt.UnixMilli()))
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Clone returns a deep copy of t.
func (t *Token) Clone() *Token {
	c := *t
	c.ExpiresAt = cloneTime(t.ExpiresAt)
	c.LastUsedAt = cloneTime(t.LastUsedAt)
	c.PreviousKeyExpiresAt = cloneTime(t.PreviousKeyExpiresAt)
	c.Policy = clonePolicy(t.Policy)
	if t.Permissions != nil {
		c.Permissions = append([]string{}, t.Permissions...)
	}
	return &c
}

// String identifies the token for people and logs.
func (t *Token) String() string {
	if t.Kind == KindAdmin {
		return fmt.Sprintf("apitoken.Token{ID:%s Name:%q Kind:admin Owner:%q}", t.ID, t.Name, t.Owner)
	}
	return fmt.Sprintf("apitoken.Token{ID:%s Name:%q Type:%s}", t.ID, t.Name, t.Type)
}

// LogValue makes slog record the token's identity and type.
func (t *Token) LogValue() slog.Value {
	if t.Kind == KindAdmin {
		return slog.GroupValue(slog.String("id", t.ID), slog.String("name", t.Name), slog.String("kind", string(t.Kind)),
			slog.String("owner", t.Owner))
	}
	return slog.GroupValue(
		slog.String("id", t.ID),
		slog.String("name", t.Name),
		slog.String("type", string(t.Type)),
	)
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
