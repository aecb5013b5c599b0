package apitoken

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Config configures a Service. Only Store is required; the salt may come from
// the environment.
type Config struct {
	// Store keeps the tokens. Required.
	Store Store

	// Salt keys the HMAC of every key. If empty, the API_TOKEN_SALT
	// environment variable is used; if that is empty too, New fails. It must
	// be at least MinSaltLen bytes. Changing it invalidates every token.
	Salt string

	// PreviousSalts are salts used before Salt. A key that matches under
	// one of them is accepted, and its stored hash moves to Salt, so that a
	// salt can be rotated without killing every token. Remove a previous
	// salt once CountBySalt shows no token on it.
	PreviousSalts []string

	// KeyFormat is the form of new keys. Default HexKeys, Strapi's; keys of
	// either form always verify.
	KeyFormat KeyFormat

	// KeyPrefix starts PrefixedKeys. Default "apitoken".
	KeyPrefix string

	// EncryptionKey, when set, makes new keys recoverable: an encrypted copy
	// is stored in Strapi's format (readable by Strapi with the same
	// encryption key), and RevealKey shows it again.
	EncryptionKey string

	// Actions is the set of actions custom tokens may be granted. Routes
	// declared through the Service (Require, HandleCollection) register
	// theirs here. Default: a new empty Registry.
	Actions *Registry

	// AnyAction lets custom tokens be granted any well-formed action, even
	// one no route has registered. It suits tools such as a CLI that
	// declare no routes. By default unknown actions are refused.
	AnyAction bool

	// Durations are the lifespans a token may be given. Default
	// DefaultDurations: 7, 30 and 90 days, and Unlimited.
	Durations []Duration

	// TouchInterval is how stale a token's LastUsedAt must be before a use
	// records a new one. Default one hour, as in Strapi. Recording never
	// happens on the request path: writes are batched in the background and
	// flushed by Close.
	TouchInterval time.Duration

	// LookupTimeout bounds each store lookup of Verify, so that a hung
	// database turns requests away with 503 instead of holding them. Default
	// 0: the request's own context alone bounds it.
	LookupTimeout time.Duration

	// Realm is the realm of WWW-Authenticate challenges. Default "api".
	Realm string

	// ErrorHandler writes the response when the middleware refuses a
	// request. Default Service.WriteError. It can read the reason from err.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// Logger receives audit records and background errors. Default
	// slog.Default(). Keys never reach it.
	Logger *slog.Logger

	// FailureLimit, when set, limits failed authentications per client:
	// past it, requests get 429 with Retry-After without being checked.
	FailureLimit *FailureLimit

	// OnEvent, when set, is called for each audit event, synchronously:
	// keep it quick.
	OnEvent func(context.Context, Event)

	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Service issues, manages and verifies tokens. It is safe for concurrent use.
// Call Close when done, to flush recorded token use.
type Service struct {
	store         Store
	hasher        *Hasher
	previous      []*Hasher
	keyFormat     KeyFormat
	keyPrefix     string
	cipher        *keyCipher // nil: keys are not recoverable
	log           *slog.Logger
	onEvent       func(context.Context, Event)
	limiter       *failureLimiter // nil: no limit
	refusals      []refusal
	lookupTimeout time.Duration
	actions       *Registry
	anyAction     bool
	durations     []Duration
	realm         string
	errorHandler  func(http.ResponseWriter, *http.Request, error)
	now           func() time.Time
	touches       *toucher
}

// New returns a Service for cfg. It fails if the store or the salt is missing.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("apitoken: Config.Store is required")
	}
	hasher, err := NewHasher(saltFromEnv(cfg.Salt))
	if err != nil {
		return nil, err
	}
	s := &Service{
		store:         cfg.Store,
		hasher:        hasher,
		keyFormat:     cfg.KeyFormat,
		keyPrefix:     cfg.KeyPrefix,
		log:           cfg.Logger,
		onEvent:       cfg.OnEvent,
		lookupTimeout: cfg.LookupTimeout,
		actions:       cfg.Actions,
		anyAction:     cfg.AnyAction,
		durations:     cfg.Durations,
		realm:         cfg.Realm,
		errorHandler:  cfg.ErrorHandler,
		now:           cfg.Now,
	}
	for _, salt := range cfg.PreviousSalts {
		h, err := NewHasher(salt)
		if err != nil {
			return nil, fmt.Errorf("apitoken: previous salt: %w", err)
		}
		if h.ID() != hasher.ID() {
			s.previous = append(s.previous, h)
		}
	}
	if s.keyPrefix == "" {
		s.keyPrefix = "apitoken"
	}
	if err := validPrefix(s.keyPrefix); err != nil {
		return nil, err
	}
	if cfg.KeyFormat != HexKeys && cfg.KeyFormat != PrefixedKeys {
		return nil, errors.New("apitoken: Config.KeyFormat must be HexKeys or PrefixedKeys")
	}
	if cfg.EncryptionKey != "" {
		if len(cfg.EncryptionKey) < MinSaltLen {
			return nil, fmt.Errorf("apitoken: Config.EncryptionKey must be at least %d bytes", MinSaltLen)
		}
		if s.cipher, err = newKeyCipher(cfg.EncryptionKey); err != nil {
			return nil, err
		}
	}
	if s.actions == nil {
		s.actions = &Registry{}
	}
	if s.durations == nil {
		s.durations = DefaultDurations
	}
	if s.realm == "" {
		s.realm = "api"
	}
	if strings.ContainsAny(s.realm, "\"\\\r\n") {
		return nil, errors.New("apitoken: Config.Realm must not contain quotes, backslashes or line breaks")
	}
	s.refusals = newRefusals(s.realm)
	if s.errorHandler == nil {
		s.errorHandler = s.WriteError
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.limiter, err = newFailureLimiter(cfg.FailureLimit, s.now); err != nil {
		return nil, err
	}
	interval := cfg.TouchInterval
	if interval <= 0 {
		interval = time.Hour
	}
	s.touches = newToucher(cfg.Store, interval, s.log)
	return s, nil
}

// Store returns the store the Service keeps its tokens in.
func (s *Service) Store() Store { return s.store }

// Actions returns the registry of actions that tokens may be granted.
func (s *Service) Actions() *Registry { return s.actions }

// Durations returns the lifespans a token may be given.
func (s *Service) Durations() []Duration { return s.durations }

// Close flushes recorded token use to the store and stops the background
// writer. ctx bounds the flush.
func (s *Service) Close(ctx context.Context) error { return s.touches.close(ctx) }

// Flush writes recorded token use to the store now.
func (s *Service) Flush(ctx context.Context) error { return s.touches.flush(ctx) }

// CreateParams describe a new token.
type CreateParams struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Type        Type     `json:"type"`     // default ReadOnly
	Lifespan    Duration `json:"lifespan"` // default Unlimited
	Permissions []string `json:"permissions"`
}

// Create issues a token and returns it with its key, which is not stored and
// cannot be had again. It returns a *ValidationError (ErrValidation, and
// ErrNameTaken for a taken name).
func (s *Service) Create(ctx context.Context, p CreateParams) (*Token, string, error) {
	now := s.now().UTC().Truncate(time.Millisecond)
	t := &Token{
		ID:          uuid.NewString(),
		Name:        p.Name,
		Description: p.Description,
		Type:        p.Type,
		Lifespan:    p.Lifespan,
		Permissions: p.Permissions,
		CreatedAt:   now,
		UpdatedAt:   now,
		SaltID:      s.hasher.ID(),
	}
	if t.Type == "" {
		t.Type = ReadOnly
	}
	if err := s.validate(t, &t.Lifespan); err != nil {
		return nil, "", err
	}
	t.ExpiresAt = expiry(now, t.Lifespan)
	key := s.newKey()
	t.EncryptedKey = s.encrypt(key)
	if err := s.store.Create(ctx, t, s.hasher.Sum(key)); err != nil {
		return nil, "", nameTaken(err)
	}
	s.event(ctx, EventCreated, t, nil, "")
	return t, key, nil
}

// Get returns the token with the given id, or ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (*Token, error) {
	return s.store.Get(ctx, id)
}

// List returns every token, sorted by name.
func (s *Service) List(ctx context.Context) ([]*Token, error) {
	return s.store.List(ctx)
}

// UpdateParams change a token; nil fields stay as they are. A non-nil
// Permissions, even empty, replaces the list. Setting Lifespan restarts the
// token's life: the new expiry counts from now, and Unlimited clears it.
// Changing to a type other than Custom drops the permissions.
type UpdateParams struct {
	Name        *string   `json:"name"`
	Description *string   `json:"description"`
	Type        *Type     `json:"type"`
	Lifespan    *Duration `json:"lifespan"`
	Permissions []string  `json:"permissions"`
}

// Update changes a token and returns it. It returns ErrNotFound or a
// *ValidationError.
func (s *Service) Update(ctx context.Context, id string, p UpdateParams) (*Token, error) {
	t, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	if p.Name != nil {
		t.Name = *p.Name
	}
	if p.Description != nil {
		t.Description = *p.Description
	}
	if p.Type != nil {
		t.Type = *p.Type
	}
	switch {
	case p.Permissions != nil:
		t.Permissions = p.Permissions
	case t.Type != Custom:
		t.Permissions = nil
	}
	if err := s.validate(t, p.Lifespan); err != nil {
		return nil, err
	}
	if p.Lifespan != nil {
		t.Lifespan = *p.Lifespan
		t.ExpiresAt = expiry(now, t.Lifespan)
	}
	t.UpdatedAt = now
	if err := s.store.Update(ctx, t); err != nil {
		return nil, nameTaken(err)
	}
	s.event(ctx, EventUpdated, t, nil, "")
	return t, nil
}

// Regenerate gives a token a new key, which it returns, and makes the old key
// fail at once. Expiry, lifespan, permissions and last use stay as they were.
// It returns ErrNotFound.
func (s *Service) Regenerate(ctx context.Context, id string) (*Token, string, error) {
	return s.RegenerateWithOverlap(ctx, id, 0)
}

// RegenerateWithOverlap is Regenerate that keeps the old key working for
// overlap (but never past the token's expiry), so that clients can switch to
// the new key without downtime. Regenerating again ends the earlier overlap.
func (s *Service) RegenerateWithOverlap(ctx context.Context, id string, overlap time.Duration) (*Token, string, error) {
	if overlap < 0 || overlap > maxOverlap {
		v := &ValidationError{}
		v.add("overlap", fmt.Sprintf("overlap must be between 0 and %d days", maxOverlap/(24*time.Hour)))
		return nil, "", v
	}
	key := s.newKey()
	now := s.now().UTC().Truncate(time.Millisecond)
	k := NewKey{Hash: s.hasher.Sum(key), EncryptedKey: s.encrypt(key), SaltID: s.hasher.ID(), UpdatedAt: now}
	if overlap > 0 {
		k.PreviousValidUntil = now.Add(overlap)
	}
	if err := s.store.SetKey(ctx, id, k); err != nil {
		return nil, "", err
	}
	t, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, "", err
	}
	s.event(ctx, EventRegenerated, t, nil, "")
	return t, key, nil
}

// Delete removes a token and returns it as it was. It returns ErrNotFound.
func (s *Service) Delete(ctx context.Context, id string) (*Token, error) {
	t, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.store.Delete(ctx, id); err != nil {
		return nil, err
	}
	s.event(ctx, EventDeleted, t, nil, "")
	return t, nil
}

// Verify returns the token whose key is key, and records its use. It returns
// ErrInvalidKey for an unknown key, ErrExpired (with the token) for an expired
// one, and ErrUnavailable when the store cannot be asked. The token is shared
// and must not be modified.
func (s *Service) Verify(ctx context.Context, key string) (*Token, error) {
	if !plausibleKey(key) {
		return nil, ErrInvalidKey
	}
	if s.lookupTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.lookupTimeout)
		defer cancel()
	}
	t, err := s.store.GetByHash(ctx, s.hasher.Sum(key))
	if errors.Is(err, ErrNotFound) && len(s.previous) > 0 {
		t, err = s.verifyPrevious(ctx, key)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, ErrInvalidKey
		}
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	now := s.now()
	if t.Expired(now) {
		s.event(ctx, EventExpiredKey, t, ErrExpired, "")
		return t, ErrExpired
	}
	s.touches.note(t, now)
	return t, nil
}

// maxOverlap bounds how long an old key may outlive its regeneration.
const maxOverlap = 30 * 24 * time.Hour

// verifyPrevious looks key up under the previous salts, and moves the hash
// of a key it finds to the current salt.
func (s *Service) verifyPrevious(ctx context.Context, key string) (*Token, error) {
	for _, h := range s.previous {
		t, err := s.store.GetByHash(ctx, h.Sum(key))
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		k := NewKey{Hash: s.hasher.Sum(key), EncryptedKey: t.EncryptedKey, SaltID: s.hasher.ID(), UpdatedAt: t.UpdatedAt}
		if err := s.store.SetKey(ctx, t.ID, k); err != nil {
			s.log.Warn("apitoken: moving a token to the current salt failed; will retry on next use", "token", t, "err", err)
		} else {
			s.event(ctx, EventSaltMoved, t, nil, "")
		}
		return t, nil
	}
	return nil, ErrNotFound
}

// RevealKey returns the key of a token again, from its encrypted copy. It
// returns ErrNotFound, or ErrNotRecoverable when there is no copy or
// Config.EncryptionKey cannot decrypt it.
func (s *Service) RevealKey(ctx context.Context, id string) (string, error) {
	t, err := s.store.Get(ctx, id)
	if err != nil {
		return "", err
	}
	if t.EncryptedKey == "" || s.cipher == nil {
		return "", ErrNotRecoverable
	}
	return s.cipher.decrypt(t.EncryptedKey)
}

// CanReveal reports whether RevealKey can work: an encryption key is set.
func (s *Service) CanReveal() bool { return s.cipher != nil }

// SaltCounts says how many tokens are on which salt: see CountBySalt.
type SaltCounts struct {
	Current  int // hashed with Config.Salt
	Previous int // hashed with another salt, e.g. one of PreviousSalts
	Unknown  int // hashed before salts were identified, e.g. by Strapi
}

// CountBySalt counts tokens by the salt of their stored hash, so that a
// previous salt can be dropped once no token uses it. A token moves to the
// current salt the first time its key is used after a rotation.
func (s *Service) CountBySalt(ctx context.Context) (SaltCounts, error) {
	var c SaltCounts
	list, err := s.store.List(ctx)
	if err != nil {
		return c, err
	}
	for _, t := range list {
		switch t.SaltID {
		case s.hasher.ID():
			c.Current++
		case "":
			c.Unknown++
		default:
			c.Previous++
		}
	}
	return c, nil
}

func (s *Service) newKey() string { return newKey(s.keyFormat, s.keyPrefix) }

func (s *Service) encrypt(key string) string {
	if s.cipher == nil {
		return ""
	}
	return s.cipher.encrypt(key)
}

func expiry(from time.Time, d Duration) *time.Time {
	if d == Unlimited {
		return nil
	}
	e := from.Add(time.Duration(d))
	return &e
}

// nameTaken turns the store's ErrNameTaken into a validation error on the name.
func nameTaken(err error) error {
	if !errors.Is(err, ErrNameTaken) {
		return err
	}
	v := &ValidationError{cause: err}
	v.add("name", "Name already taken")
	return v
}
