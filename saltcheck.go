package apitoken

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// SaltReport counts a store's tokens by the salt that hashed their keys, as
// CountSalts finds them. Salts appear by id (Hasher.ID), never themselves.
type SaltReport struct {
	Current  int            // hashed with Config.Salt
	Previous map[string]int // by salt id: hashed with one of Config.PreviousSalts; nil if none
	Unknown  map[string]int // by salt id: hashed with a salt not configured; nil if none
	// Unidentified tokens carry no salt id: Strapi (and strapistore)
	// record none, so which salt made them cannot be told.
	Unidentified int
}

// CountSalts counts the tokens of cfg.Store by the salt that hashed their
// keys, against the salts of cfg (Salt, or API_TOKEN_SALT when it is empty,
// and PreviousSalts). It reads the store with List and changes nothing. It
// fails if a salt of cfg is one New would refuse.
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
	return countSalts(ctx, cfg.Store, current, previous)
}

// countSalts counts the tokens of store by the salt that hashed their keys.
func countSalts(ctx context.Context, store Store, current *Hasher, previous []*Hasher) (SaltReport, error) {
	var r SaltReport
	ids := map[string]bool{}
	for _, h := range previous {
		ids[h.ID()] = true
	}
	list, err := store.List(ctx)
	if err != nil {
		return r, err
	}
	for _, t := range list {
		switch id := t.SaltID; {
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
	return r, nil
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
// their keys would be refused as if they did not exist. Call it at start-up,
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
		parts = append(parts, fmt.Sprintf("salt %s made %s", id, countTokens(r.Unknown[id])))
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
