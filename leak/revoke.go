package leak

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/clients"
)

// Defaults of RevokeConfig.
const (
	DefaultRevokeBurst   = 10
	DefaultRevokeMaxBody = 4 << 10
	DefaultRevokeWorkers = 4
)

// DefaultRevokeRate is RevokeConfig.Rate's default: one report a minute,
// after DefaultRevokeBurst in a row.
var DefaultRevokeRate = rate.Every(time.Minute)

// revokeTimeout bounds one try at revoking a reported key.
const revokeTimeout = 30 * time.Second

// DefaultRevokeRetryFor is RevokeConfig.RetryFor's default.
const DefaultRevokeRetryFor = 10 * time.Minute

// maxRetryWait bounds the wait between tries at a revocation.
const maxRetryWait = 30 * time.Second

// Accepted is the body of every accepted report, whether or not its key
// was issued here.
const Accepted = `{"status":"accepted","message":"If this key was issued here, it is being revoked. Thank you for reporting it."}` + "\n"

// RevokeConfig configures NewRevoke.
type RevokeConfig struct {
	// Service issues the keys reported. Required.
	Service *apitoken.Service

	// Disable disables the token of a reported key (Policy.Disabled)
	// instead of deleting it. See apitoken.Leak.
	Disable bool

	// Rate and Burst limit the reports of each client: Burst in a row,
	// then Rate a second. Past it, 429 with Retry-After. Defaults
	// DefaultRevokeRate (one a minute) and DefaultRevokeBurst (10).
	Rate  rate.Limit
	Burst int

	// ClientKey names the client of a request for the limit. Default
	// Service.ClientName (which reads Config.TrustedProxies). An IPv6
	// address counts per /64.
	ClientKey func(*http.Request) string

	// MaxClients bounds the clients remembered. Default 100,000; when
	// full, those that have all their reports back are forgotten first.
	MaxClients int

	// MaxBody bounds a report, in bytes. Default DefaultRevokeMaxBody
	// (4 KiB); larger ones are refused with 413.
	MaxBody int64

	// Workers bounds the revocations under way; a report waits for one
	// to finish. Default DefaultRevokeWorkers (4).
	Workers int

	// RetryFor is how long, in waits between tries, a revocation that
	// fails because the store is unavailable is tried again: 1 s, then
	// twice as long each time, up to 30 s (each try is bounded by 30 s
	// too). Default DefaultRevokeRetryFor (10 minutes);
	// negative: one try. A revocation given up, or stopped by Close, is
	// logged as lost (never with its key).
	RetryFor time.Duration

	// Clock times the waits between tries. Default: the system clock.
	Clock apitoken.Clock

	// Logger receives the failures of revocations, never a key. Default
	// slog.Default().
	Logger *slog.Logger
}

// Revoke is the handler of reports of leaked keys from anyone: POST the key
// as the body (text, or JSON {"key": "…"} with Content-Type
// application/json; "Bearer <key>" is taken too). Every well-formed report
// gets 202 and the body Accepted, at once and whatever the key: it is
// looked up and its token revoked in the background (Service.RevokeLeaked,
// with an audit event), so that neither the answer nor its timing tells
// whether the key was issued here, or anything about other keys. Reports
// are limited per client (429 with Retry-After); an empty or malformed
// body is 400, one over MaxBody 413, a method other than POST 405.
type Revoke struct {
	cfg    RevokeConfig
	limits clients.Limits
	slots  chan struct{}
	work   sync.WaitGroup
	log    *slog.Logger
	after  func(time.Duration) <-chan time.Time
	stop   chan struct{} // closed by Close: no more waits to try again, no more reports

	mu     sync.Mutex // orders work.Add after Close's check
	closed bool
}

// NewRevoke returns the handler of reports of leaked keys.
func NewRevoke(cfg RevokeConfig) (*Revoke, error) {
	if cfg.Service == nil {
		return nil, errors.New("leak: RevokeConfig.Service is required")
	}
	if cfg.Rate < 0 || cfg.Burst < 0 {
		return nil, errors.New("leak: RevokeConfig.Rate and Burst must not be negative")
	}
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRevokeRate
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultRevokeBurst
	}
	if cfg.ClientKey == nil {
		cfg.ClientKey = cfg.Service.ClientName
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 100_000
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultRevokeMaxBody
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultRevokeWorkers
	}
	if cfg.RetryFor == 0 {
		cfg.RetryFor = DefaultRevokeRetryFor
	}
	h := &Revoke{cfg: cfg, slots: make(chan struct{}, cfg.Workers), log: cfg.Logger, after: time.After, stop: make(chan struct{})}
	if cfg.Clock != nil {
		h.after = cfg.Clock.After
	}
	h.limits = clients.Limits{Rate: cfg.Rate, Burst: cfg.Burst, Max: cfg.MaxClients}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h, nil
}

func (h *Revoke) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	client := clients.Normalise(h.cfg.ClientKey(r))
	if wait := h.take(client, h.cfg.Service.Now()); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "Request Entity Too Large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "Bad Request", http.StatusBadRequest)
		}
		return
	}
	key, err := reportedKey(r.Header.Get("Content-Type"), body)
	if err != nil {
		http.Error(w, "Bad Request: "+err.Error(), http.StatusBadRequest)
		return
	}
	select {
	case h.slots <- struct{}{}:
	case <-r.Context().Done():
		return // the client left before a worker was free
	case <-h.stop:
		closing(w)
		return
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		<-h.slots
		closing(w)
		return
	}
	h.work.Add(1)
	h.mu.Unlock()
	go h.revoke(context.WithoutCancel(r.Context()), key, client)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, Accepted)
}

// revoke revokes the token of key, if there is one, trying again while the
// store is unavailable (see RetryFor), and frees its slot. A report waiting
// to be tried again keeps its slot, so that an outage holds at most Workers
// keys in memory and further reports wait (or their clients leave).
func (h *Revoke) revoke(ctx context.Context, key, client string) {
	defer h.work.Done()
	defer func() { <-h.slots }()
	wait, waited := time.Second, time.Duration(0)
	for {
		err := h.try(ctx, key, client)
		if err == nil || errors.Is(err, apitoken.ErrInvalidKey) {
			return
		}
		retry := errors.Is(err, apitoken.ErrUnavailable) && waited+wait <= h.cfg.RetryFor
		if retry {
			select {
			case <-h.stop:
				retry = false
			default:
			}
		}
		if !retry {
			h.log.LogAttrs(ctx, slog.LevelError, "leak: a reported key could not be looked up or revoked; the report is lost",
				slog.String("client", client), slog.String("err", err.Error()))
			return
		}
		h.log.LogAttrs(ctx, slog.LevelWarn, "leak: a reported key could not be looked up or revoked; trying again",
			slog.String("client", client), slog.Duration("in", wait), slog.String("err", err.Error()))
		select {
		case <-h.after(wait):
		case <-h.stop:
		}
		waited += wait
		wait = min(2*wait, maxRetryWait)
	}
}

// try makes one attempt at revoking the token of key.
func (h *Revoke) try(ctx context.Context, key, client string) error {
	ctx, cancel := context.WithTimeout(ctx, revokeTimeout)
	defer cancel()
	_, err := h.cfg.Service.RevokeLeaked(ctx, key, apitoken.Leak{
		Where: "reported to the leaked key endpoint", Client: client, Disable: h.cfg.Disable,
	})
	return err
}

// Wait returns once the revocations of every report answered so far are
// done, tried again for as long as RetryFor allows. Call it when the
// server no longer hands requests to h, as after http.Server.Shutdown, or
// call Close.
func (h *Revoke) Wait() { h.work.Wait() }

// Close stops the waits to try revocations again: each is tried once more
// and, if that fails, logged as lost. Reports from then on get 503, so that
// their reporters send them again, elsewhere or later. It returns as Wait
// does.
func (h *Revoke) Close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.stop)
	}
	h.mu.Unlock()
	h.work.Wait()
}

// closing refuses a report while the handler closes.
func closing(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "60")
	http.Error(w, "Service Unavailable: shutting down; send the report again later", http.StatusServiceUnavailable)
}

// reportedKey returns the key of a report's body: the body itself, or its
// "key" for JSON, trimmed, without a "Bearer " in front.
func reportedKey(contentType string, body []byte) (string, error) {
	key := string(body)
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "application/json" {
		var v struct {
			Key string `json:"key"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			return "", errors.New(`the body must be {"key": "…"}`)
		}
		key = v.Key
	}
	key = strings.TrimSpace(key)
	if k, err := apitoken.ParseBearer(key); err == nil {
		key = k
	}
	switch {
	case key == "":
		return "", errors.New("no key")
	case strings.ContainsFunc(key, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return "", errors.New("a key has no spaces or control characters")
	}
	return key, nil
}
