package apitoken

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// SaltReport counts a store's tokens by the salts that hashed their keys, as
// CountSalts finds them. Salts appear by id (Hasher.ID), never themselves.
//
// A token is counted under each salt that one of its working keys needs:
// its current key's, and, while the previous key of a graceful
// regeneration (RegenerateWithOverlap) still works, that key's. A previous
// key never moves to the current salt, so a token regenerated after a
// rotation, before its key was used, is on two salts until the overlap
// ends, and counts under both: the counts may add up to more than the
// tokens. A previous key that no longer works, kept for reuse detection
// only (EventKeyReused), keeps no salt in use.
type SaltReport struct {
	Current  int            // hashed with Config.Salt
	Previous map[string]int // by salt id: hashed with one of Config.PreviousSalts; nil if none
	Unknown  map[string]int // by salt id: hashed with a salt not configured; nil if none
	// Unidentified tokens carry no salt id: Strapi (and strapistore)
	// record none, so which salt made them cannot be told. A previous
	// key whose salt id was not kept (replaced before stores kept it, or
	// a key from Strapi) counts here too while it works.
	Unidentified int
	// Overlaps tells, by salt id, of the tokens counted under a salt
	// other than Config.Salt ("" for Unidentified), how many are there
	// by a working previous key, and until when the last of those keys
	// works: the salt is needed until then even once no current key is
	// on it, unless those tokens are regenerated again. nil if none.
	Overlaps map[string]Overlap
}

// Overlap is what SaltReport.Overlaps says of one salt.
type Overlap struct {
	Tokens int       `json:"tokens"` // tokens whose previous key the salt hashed
	Until  time.Time `json:"until"`  // when the last of those keys stops working
}

// CountSalts counts the tokens of cfg.Store by the salts that hashed their
// keys (see SaltReport), against the salts of cfg (Salt, or API_TOKEN_SALT
// when it is empty, and PreviousSalts), at the time of cfg.Clock (default
// the system clock), which tells the previous keys that still work. It
// reads the store with List and changes nothing. It fails if a salt of cfg
// is one New would refuse.
func CountSalts(ctx context.Context, cfg Config) (SaltReport, error) {
	var r SaltReport
	if cfg.Store == nil {
		return r, errors.New("apitoken: Config.Store is required")
	}
	current, err := NewHasher(saltFromEnv(cfg.Salt))
	if err != nil {
		return r, err
	}
	var previous []*Hasher
	for _, salt := range cfg.PreviousSalts {
		h, err := NewHasher(salt)
		if err != nil {
			return r, fmt.Errorf("apitoken: previous salt: %w", err)
		}
		previous = append(previous, h)
	}
	clock := cfg.Clock
	if clock == nil {
		clock = newClock()
	}
	return countSalts(ctx, cfg.Store, current, previous, clock.Now())
}

// countSalts counts the tokens of store by the salts their keys need at
// now.
func countSalts(ctx context.Context, store Store, current *Hasher, previous []*Hasher, now time.Time) (SaltReport, error) {
	var r SaltReport
	ids := map[string]bool{}
	for _, h := range previous {
		ids[h.ID()] = true
	}
	list, err := store.List(ctx)
	if err != nil {
		return r, err
	}
	count := func(id string) {
		switch {
		case id == current.ID():
			r.Current++
		case id == "":
			r.Unidentified++
		case ids[id]:
			r.Previous = inc(r.Previous, id)
		default:
			r.Unknown = inc(r.Unknown, id)
		}
	}
	for _, t := range list {
		count(t.SaltID)
		until, ok := t.previousWorks(now)
		if !ok {
			continue
		}
		id := t.PreviousSaltID
		if id != t.SaltID {
			count(id)
		}
		if id != current.ID() {
			r.overlap(id, until)
		}
	}
	return r, nil
}

// previousWorks reports whether t's previous key still works at now, and
// until when: before PreviousKeyExpiresAt, and while t has not expired.
func (t *Token) previousWorks(now time.Time) (time.Time, bool) {
	p := t.PreviousKeyExpiresAt
	if p == nil || !now.Before(*p) || t.Expired(now) {
		return time.Time{}, false
	}
	return *p, true
}

// overlap adds a token whose previous key, working until until, the salt
// id hashed.
func (r *SaltReport) overlap(id string, until time.Time) {
	if r.Overlaps == nil {
		r.Overlaps = map[string]Overlap{}
	}
	o := r.Overlaps[id]
	o.Tokens++
	if until.After(o.Until) {
		o.Until = until
	}
	r.Overlaps[id] = o
}

func inc(m map[string]int, k string) map[string]int {
	if m == nil {
		m = map[string]int{}
	}
	m[k]++
	return m
}

// CheckSalt returns an error wrapping ErrUnknownSalt, naming the salt ids,
// when cfg.Store holds tokens hashed with a salt that cfg does not configure:
// their keys would be refused as if they did not exist. That includes the
// previous key of a graceful regeneration while it works (see SaltReport),
// with the time it stops working. Call it at start-up,
// before serving, so that a lost or mistyped salt stops the program instead
// of every client. Tokens without a salt id (imported from Strapi) cannot be
// checked and do not fail it; a wrong salt shows for them only as refused
// keys. It also fails as CountSalts does.
func CheckSalt(ctx context.Context, cfg Config) error {
	r, err := CountSalts(ctx, cfg)
	if err != nil || len(r.Unknown) == 0 {
		return err
	}
	var parts []string
	for _, id := range slices.Sorted(maps.Keys(r.Unknown)) {
		part := fmt.Sprintf("salt %s made %s", id, countTokens(r.Unknown[id]))
		if o, ok := r.Overlaps[id]; ok {
			part += fmt.Sprintf(" (%d of them by a previous key that works until %s)", o.Tokens, o.Until.UTC().Format(time.RFC3339))
		}
		parts = append(parts, part)
	}
	return fmt.Errorf("%w: %s; configure it as Config.Salt, or as one of Config.PreviousSalts during a rotation",
		ErrUnknownSalt, strings.Join(parts, ", "))
}

// countTokens returns "1 token" or "n tokens".
func countTokens(n int) string {
	if n == 1 {
		return "1 token"
	}
	return fmt.Sprintf("%d tokens", n)
}
