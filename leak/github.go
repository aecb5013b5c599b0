package leak

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-apitoken/apitoken"
)

// GitHub's headers of a signed report.
const (
	KeyIdentifierHeader = "Github-Public-Key-Identifier"
	SignatureHeader     = "Github-Public-Key-Signature"
)

// DefaultMaxReport is GitHubConfig.MaxBody's default: some seven thousand
// matches.
const DefaultMaxReport = 1 << 20

// reportTimeout bounds the revocations of one report. GitHub waits 30
// seconds for an answer; the revocations go on if it stops waiting.
const reportTimeout = 30 * time.Second

// GitHubConfig configures NewGitHub.
type GitHubConfig struct {
	// Service issues the keys reported. Required.
	Service *apitoken.Service

	// Keys and KeysJSON are the keys reports may be signed with: parsed,
	// or the JSON document GitHub publishes (see ParseGitHubKeys). At
	// least one key is required; both may be set. They are never fetched:
	// when GitHub announces a new key, configure it and build a new
	// handler.
	Keys     []PublicKey
	KeysJSON []byte

	// Disable disables the token of a reported key (Policy.Disabled)
	// instead of deleting it. See apitoken.Leak.
	Disable bool

	// RawToken names each key in the answer by the key itself
	// ("token_raw"), which GitHub's feedback format accepts as well as the
	// default, its SHA-256 in hex ("token_hash"), which puts no key on the
	// wire.
	RawToken bool

	// MaxBody bounds a report, in bytes. Default DefaultMaxReport (1 MiB);
	// larger reports are refused with 413.
	MaxBody int64

	// Logger receives a record of each report and each refusal, never a
	// key. Default slog.Default().
	Logger *slog.Logger
}

// NewGitHub returns the handler of GitHub's secret scanning reports. It
// answers:
//
//   - 200 with a JSON array holding, for each match in the order
//     reported, {"token_hash" (or "token_raw"), "token_type", "label"}:
//     "true_positive" for a key the Service issued, whose token is now
//     revoked or disabled, "false_positive" for any other;
//   - 401 when the signature headers are missing, name an unknown key or
//     do not verify over the body as received;
//   - 400 for a signed body that is not a report; 413 for one over
//     MaxBody; 405 for a method other than POST;
//   - 503 when the token store fails, so that GitHub sends the report
//     again; what was revoked stays revoked. A key whose token this
//     handler deleted is labelled true_positive again in a report sent
//     again (it remembers the last 100,000 by their SHA-256, in memory);
//     another instance, or this one after a restart, labels it
//     false_positive, since nothing is left to know it by: Disable keeps
//     the token, and the label, everywhere.
//
// A key reported more than once is revoked once and labelled alike each
// time. An expired or disabled token's key is a true positive too.
func NewGitHub(cfg GitHubConfig) (http.Handler, error) {
	if cfg.Service == nil {
		return nil, errors.New("leak: GitHubConfig.Service is required")
	}
	keys := append([]PublicKey{}, cfg.Keys...)
	if cfg.KeysJSON != nil {
		parsed, err := ParseGitHubKeys(cfg.KeysJSON)
		if err != nil {
			return nil, err
		}
		keys = append(keys, parsed...)
	}
	if len(keys) == 0 {
		return nil, errors.New("leak: GitHubConfig needs Keys or KeysJSON: the keys GitHub signs reports with")
	}
	m, err := keyMap(keys)
	if err != nil {
		return nil, err
	}
	h := &github{cfg: cfg, keys: m, log: cfg.Logger}
	if h.cfg.MaxBody <= 0 {
		h.cfg.MaxBody = DefaultMaxReport
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h, nil
}

type github struct {
	cfg     GitHubConfig
	keys    map[string]*ecdsa.PublicKey
	log     *slog.Logger
	revoked revokedKeys
}

// revokedKeys remembers, by their SHA-256, the keys a handler revoked
// lately, so that a report GitHub sends again (after a 503, or twice)
// labels a key whose token was deleted true_positive still.
type revokedKeys struct {
	mu   sync.Mutex
	keys map[[sha256.Size]byte]struct{}
}

// maxRevokedKeys bounds revokedKeys; when full, it starts over.
const maxRevokedKeys = 100_000

func (rk *revokedKeys) add(key string) {
	rk.mu.Lock()
	defer rk.mu.Unlock()
	if rk.keys == nil || len(rk.keys) >= maxRevokedKeys {
		rk.keys = map[[sha256.Size]byte]struct{}{}
	}
	rk.keys[sha256.Sum256([]byte(key))] = struct{}{}
}

func (rk *revokedKeys) has(key string) bool {
	rk.mu.Lock()
	defer rk.mu.Unlock()
	_, ok := rk.keys[sha256.Sum256([]byte(key))]
	return ok
}

// feedback is one element of the answer, in GitHub's format.
type feedback struct {
	TokenHash string `json:"token_hash,omitempty"`
	TokenRaw  string `json:"token_raw,omitempty"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"`
}

func (h *github) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	client := h.cfg.Service.ClientName(r)
	ids, sigs := r.Header.Values(KeyIdentifierHeader), r.Header.Values(SignatureHeader)
	if len(ids) != 1 || len(sigs) != 1 {
		h.refuse(w, r, client, http.StatusUnauthorized, errNoSignature)
		return
	}
	key := h.keys[ids[0]]
	if key == nil {
		h.refuse(w, r, client, http.StatusUnauthorized, errUnknownKey)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.refuse(w, r, client, http.StatusRequestEntityTooLarge, errors.New("the report is larger than MaxBody"))
		} else {
			h.refuse(w, r, client, http.StatusBadRequest, errors.New("the report could not be read"))
		}
		return
	}
	if err := verifySignature(key, sigs[0], body); err != nil {
		h.refuse(w, r, client, http.StatusUnauthorized, err)
		return
	}
	matches, err := ParseReport(body)
	if err != nil {
		h.refuse(w, r, client, http.StatusBadRequest, err)
		return
	}
	answer, revoked, err := h.revoke(r.Context(), matches, client)
	if err != nil {
		h.log.LogAttrs(r.Context(), slog.LevelError, "leak: a GitHub report could not be acted on; GitHub will send it again",
			slog.Int("matches", len(matches)), slog.Int("revoked", revoked), slog.String("err", err.Error()))
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "leak: GitHub secret scanning report",
		slog.Int("matches", len(matches)), slog.Int("revoked", revoked), slog.String("client", client))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(answer)
}

// revoke revokes the token of each match's key, once per key, and returns
// the answer to GitHub and how many tokens it revoked.
func (h *github) revoke(ctx context.Context, matches []Match, client string) ([]feedback, int, error) {
	// The revocations are finished even if GitHub stops waiting.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	labels := make(map[string]string, len(matches))
	answer := make([]feedback, len(matches))
	revoked := 0
	for i, m := range matches {
		label, seen := labels[m.Token]
		if !seen {
			_, err := h.cfg.Service.RevokeLeaked(ctx, m.Token, apitoken.Leak{
				Where: where(m), Client: client, Disable: h.cfg.Disable,
			})
			switch {
			case err == nil:
				label = "true_positive"
				revoked++
				h.revoked.add(m.Token)
			case errors.Is(err, apitoken.ErrInvalidKey) && h.revoked.has(m.Token):
				label = "true_positive" // deleted by an earlier report
			case errors.Is(err, apitoken.ErrInvalidKey):
				label = "false_positive"
			default:
				return nil, revoked, err
			}
			labels[m.Token] = label
		}
		answer[i] = feedback{TokenType: m.Type, Label: label}
		if h.cfg.RawToken {
			answer[i].TokenRaw = m.Token
		} else {
			sum := sha256.Sum256([]byte(m.Token))
			answer[i].TokenHash = hex.EncodeToString(sum[:])
		}
	}
	return answer, revoked, nil
}

// where names where GitHub found m, for the audit event.
func where(m Match) string {
	s := "GitHub secret scanning: " + m.Source
	if m.URL != "" {
		s += " " + m.URL
	}
	return s
}

// refuse answers a report that is not acted on, and logs why.
func (h *github) refuse(w http.ResponseWriter, r *http.Request, client string, status int, why error) {
	h.log.LogAttrs(r.Context(), slog.LevelWarn, "leak: GitHub report refused",
		slog.Int("status", status), slog.String("reason", why.Error()), slog.String("client", client))
	http.Error(w, http.StatusText(status), status)
}
