package apitoken

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Config configures a Service. Only Store is required; the salt may come from
// the environment. As in every Options of this module, a zero field means its
// documented default, and a negative number or duration turns the feature
// off.
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

	// KeyPrefix starts PrefixedKeys. Default "apitoken". Verify refuses,
	// before hashing, prefixed keys of any other prefix, so changing it
	// invalidates the prefixed keys issued under the old one (hex keys
	// always verify).
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
	// records a new one. Default one hour, as in Strapi; negative turns
	// recording off. Recording never happens on the request path: writes are
	// batched in the background and flushed by Close.
	TouchInterval time.Duration

	// KeyMemo is how many keys the Service remembers the hash of, by their
	// SHA-256, so that a key it has verified before costs a SHA-256 instead
	// of the HMAC-SHA512 on its next use: a fifth of the work on CPUs with
	// SHA extensions. Only keys the store knew are remembered, and a key the
	// store no longer knows is forgotten at its next use; revocation still
	// goes through the store on every request. Default DefaultKeyMemo;
	// negative turns the memo off.
	KeyMemo int

	// LookupTimeout bounds each store lookup of Verify, so that a hung
	// database turns requests away with 503 instead of holding them. By
	// default (zero or negative) the request's own context alone bounds it. Lookups that a Peeker
	// store (such as the cache) answers from memory need no bound.
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
	// past it, requests get 429 with Retry-After without being checked,
	// unless they present a key this Service knows to be valid.
	FailureLimit *FailureLimit

	// OnEvent, when set, is called for each audit event, synchronously:
	// keep it quick.
	OnEvent func(context.Context, Event)

	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// names the client: for a request from one of them, the client is the
	// last address in that header that none of them added. Policy
	// AllowedIPs, FailureLimit (unless its ClientKey says otherwise) and
	// audit events use that client. Default none: the client is the peer.
	TrustedProxies []netip.Prefix

	// SharedRates, when set, counts the requests of tokens with a
	// Policy.RateLimit for every Service given the same counter (such as
	// a sqlstore.Store on one database, or a redisrate.Counter), so that
	// instances enforce each limit together rather than each on its own.
	// Each Service leases a batch of a window's requests at a time: one
	// round trip per batch, not per request. When the counter fails,
	// rate-limited tokens get 503 (ErrUnavailable); tokens without a
	// RateLimit never touch it. Default: each Service counts alone, in
	// memory, the same way. Either way windows are aligned to the clock:
	// a one-minute window runs from :00 to :00, whenever the token's
	// first request came.
	SharedRates RateCounter

	// ExpiryWarning is how long before a token's expiry EventExpiring is
	// given (see CheckExpiry). Default DefaultExpiryWarning (7 days);
	// negative turns the expiry events off.
	ExpiryWarning time.Duration

	// ExpiryCheck is how often the Service gives the expiry events that
	// are due, when its store is a NoticeClaimer (memstore and sqlstore
	// are; with sqlstore, one instance of those sharing a database gives
	// each). Default DefaultExpiryCheck (1 hour); negative: only when
	// CheckExpiry is called.
	ExpiryCheck time.Duration

	// DisableOnReuse disables a token (Policy.Disabled) when a key that a
	// regeneration replaced is used after it stopped working, since its
	// current key may have leaked with it. EventKeyReused is given either
	// way. Default false: only the event.
	DisableOnReuse bool

	// OwnerPermissions returns the admin permissions that the
	// administrator owner holds now, as the host grants them: the ceiling
	// of the admin tokens (KindAdmin) they own. A token is granted only
	// permissions within it, and on every use is allowed only those of its
	// permissions still within it, so that an administrator who loses a
	// permission loses it in their tokens at once (ClampOwner also removes
	// it from the stored tokens). It returns ErrNotFound for an owner that
	// no longer exists, whose tokens then fail as unknown keys; any other
	// error fails the request with ErrUnavailable. Without it, admin tokens
	// can be neither created nor used. Owner ids are compared exactly:
	// give each administrator one canonical id (not one per spelling of
	// an email address), here and in the admin handler's Config.Owner.
	OwnerPermissions func(ctx context.Context, owner string) ([]string, error)

	// Clock tells the time and times the background writer's waits. Tests
	// set an apitokentest.Clock and move it by hand. Default: the system
	// clock.
	Clock Clock
}

// Service issues, manages and verifies tokens. It is safe for concurrent use.
// Call Close when done, to flush recorded token use.
type Service struct {
	store         Store
	hasher        *Hasher
	previous      []*Hasher
	memo          *keyMemo // nil: off
	peeker        Peeker   // the store, if it is one
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
	errorHandler  func(http.ResponseWriter, *http.Request, error)
	now           func() time.Time
	touches       *toucher

	trustedProxies []netip.Prefix
	rates          *tokenRates
	notices        notices
	disableOnReuse bool
	spender        QuotaSpender // the store, if it is one
	ownerPerms     func(context.Context, string) ([]string, error)
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
		errorHandler:  cfg.ErrorHandler,
	}
	s.peeker, _ = cfg.Store.(Peeker)
	s.spender, _ = cfg.Store.(QuotaSpender)
	s.disableOnReuse = cfg.DisableOnReuse
	s.ownerPerms = cfg.OwnerPermissions
	for _, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return nil, errors.New("apitoken: Config.TrustedProxies holds an invalid prefix")
		}
		s.trustedProxies = append(s.trustedProxies, unmapPrefix(p))
	}
	switch {
	case cfg.KeyMemo == 0:
		s.memo = &keyMemo{max: DefaultKeyMemo}
	case cfg.KeyMemo > 0:
		s.memo = &keyMemo{max: int64(cfg.KeyMemo)}
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
	realm := cfg.Realm
	if realm == "" {
		realm = "api"
	}
	if strings.ContainsAny(realm, "\"\\\r\n") {
		return nil, errors.New("apitoken: Config.Realm must not contain quotes, backslashes or line breaks")
	}
	s.refusals = newRefusals(realm)
	if s.errorHandler == nil {
		s.errorHandler = s.WriteError
	}
	clock := cfg.Clock
	if clock == nil {
		clock = newClock()
	}
	s.now = clock.Now
	if s.log == nil {
		s.log = slog.Default()
	}
	s.rates = &tokenRates{counter: cfg.SharedRates, now: s.now, bounded: s.bounded}
	if cfg.SharedRates == nil {
		s.rates.counter, s.rates.bounded = &MemoryRates{}, nil
	}
	if s.limiter, err = newFailureLimiter(cfg.FailureLimit, s.now, s.clientName); err != nil {
		return nil, err
	}
	interval := cfg.TouchInterval
	if interval == 0 {
		interval = time.Hour
	}
	s.touches = newToucher(cfg.Store, interval, clock, s.log)
	s.startNotices(&cfg, clock)
	return s, nil
}
