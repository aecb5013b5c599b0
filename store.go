package apitoken

import (
	"context"
	"time"
)

// Store persists tokens and their key hashes. Implementations must be safe for
// concurrent use. Run the storetest suite against a new implementation.
//
// Stores keep times as given, to at least millisecond precision, and return
// them in UTC.
type Store interface {
	// Create saves t, whose ID the caller has set, with the hash of its key.
	// A store whose ids must be of its own kind (Strapi's are integers) may
	// assign one instead and set t.ID to it.
	// Stores keep every field of t, including EncryptedKey, SaltID and
	// KeyHint, but not PreviousKeyExpiresAt or PreviousSaltID: a new token
	// has no previous key.
	// It returns ErrNameTaken if another token has t.Name: name uniqueness is
	// the store's atomic guarantee, so of concurrent creates with one name
	// exactly one succeeds. Create saves the token and its permissions
	// atomically.
	Create(ctx context.Context, t *Token, hash Hash) error

	// Get returns a copy of the token with the given id, or ErrNotFound.
	Get(ctx context.Context, id string) (*Token, error)

	// GetByHash returns the token whose key has the given hash, or
	// ErrNotFound. It must not scan: it sits on every authenticated request.
	// The returned token may be shared with other callers and must not be
	// modified.
	GetByHash(ctx context.Context, hash Hash) (*Token, error)

	// List returns copies of all tokens, sorted by name.
	List(ctx context.Context) ([]*Token, error)

	// Update changes the token with the given id and returns it as saved.
	// It calls change with a copy of the token as stored, then saves the
	// name, description, type, lifespan, expiry, permissions and update
	// time that change left in it, atomically: no other write to the token
	// comes between the read and the write, so that concurrent updates
	// never undo each other. If change returns an error, nothing is
	// written and Update returns that error. change may be called more than
	// once (a store may retry after a conflict) and must not keep the
	// token. The key, creation time, last use, encrypted key, salt id, key
	// hint, previous key (and its salt id), kind and owner are left alone. Update returns
	// ErrNotFound or ErrNameTaken.
	Update(ctx context.Context, id string, change func(*Token) error) (*Token, error)

	// SetKey replaces the key of the token with the given id: its hash,
	// encrypted copy, salt id, hint and update time, atomically, and sets
	// the token's PreviousKeyExpiresAt to k.PreviousValidUntil (nil when
	// zero). The old key stops
	// working at once, unless k.PreviousValidUntil is set: then GetByHash
	// still finds the token by the old hash until that time, returning it
	// with ExpiresAt no later than PreviousValidUntil so that the old key
	// expires then. Only one previous key is kept, with the salt id the
	// old key had as the token's PreviousSaltID ("" when none is kept),
	// taken in the same atomic change as the old hash, so that the two
	// always agree. It returns ErrNotFound.
	SetKey(ctx context.Context, id string, k NewKey) error

	// MoveKey records that the current key of the token with the given id,
	// whose hash is from, now hashes to to under the salt saltID, as after a
	// salt rotation. It is a compare-and-swap: unless from is still the
	// token's current key hash (not only its previous key's), it changes
	// nothing and returns ErrNotFound, so that a key replaced since it was
	// looked up never comes back. The previous key (and its salt id),
	// encrypted copy and update time are left alone.
	MoveKey(ctx context.Context, id string, from, to Hash, saltID string) error

	// Delete removes the token and its permissions, or returns ErrNotFound.
	Delete(ctx context.Context, id string) error

	// Touch records that the token was used at time at, but only if its
	// last use is unset or not after notAfter; this lets many server
	// instances record use without multiplying writes. It reports whether it
	// wrote. An unknown id is not an error.
	Touch(ctx context.Context, id string, at, notAfter time.Time) (bool, error)
}

// NewKey is a token's new key, as SetKey stores it.
type NewKey struct {
	Hash         Hash
	EncryptedKey string // see Token.EncryptedKey; "" when keys are not recoverable
	SaltID       string // see Token.SaltID
	KeyHint      string // see Token.KeyHint
	UpdatedAt    time.Time
	// PreviousValidUntil, when not zero, keeps the old key working until
	// then, so that clients can switch without downtime.
	PreviousValidUntil time.Time
	// IfHash, when set, makes SetKey change the key only while the
	// token's current key hash is *IfHash, else return ErrStale: a key
	// that rotates itself must still be the current one when the change
	// lands. A store that cannot compare returns errors.ErrUnsupported.
	IfHash *Hash
}

// BatchToucher is a Store that can record many uses in one round trip. The
// Service's background writer uses it when the Store has it.
type BatchToucher interface {
	// TouchMany applies Touch to each use, in one round trip where the
	// store can. Unknown ids are not an error.
	TouchMany(ctx context.Context, uses []Use) error
}

// Peeker is a Store that can answer some lookups from memory, such as a
// cache. Verify asks Peek first and calls GetByHash, under
// Config.LookupTimeout, only when Peek has no answer, so that a lookup that
// cannot block costs no timer.
type Peeker interface {
	// Peek returns what GetByHash would for hash, if it can without
	// blocking: the token, or found false for ErrNotFound. ok is false
	// when it cannot answer.
	Peek(hash Hash) (t *Token, found, ok bool)
}

// ChangeFeed is a Store that reports every change to its tokens, whoever
// made it: another instance, the CLI, a script, an import. The database
// records each change (triggers, in sqlstore), so nothing that writes the
// tables goes unreported. A cache in front of the store drops what changed,
// so that a revoked key dies on every instance within the feed's latency
// instead of a TTL.
type ChangeFeed interface {
	// WatchChanges calls changed for each change committed from the moment
	// the feed is in place, in commit order as far as the database tells
	// it, until ctx ends or the feed is lost, and returns why (ctx.Err()
	// when ctx ended). Its first call has Reset set, once the feed is in
	// place: anything cached before then may be stale. A later Reset says
	// changes may have been missed. changed must not block for long.
	WatchChanges(ctx context.Context, changed func(Change)) error

	// Sync returns once every change committed before it was called has
	// been passed to the changed function of a running WatchChanges, or
	// with an error when it cannot tell (no watch running, the feed lost,
	// ctx ended). It lets a cache that refuses keys missing from its
	// filter first make sure that the key was not just created elsewhere.
	// Concurrent calls share one catch-up.
	Sync(ctx context.Context) error

	// KeyHashes calls add with every stored key hash: each token's current
	// key and, while it has one, its previous key. A filter of known keys
	// is built from them after the feed is in place.
	KeyHashes(ctx context.Context, add func(Hash)) error
}

// Change is one change to a token, reported by a ChangeFeed.
type Change struct {
	// ID is the token that was created, changed or deleted.
	ID string
	// Hashes are the key hashes the token has after the change, current
	// and previous: a cache stops remembering them as unknown, and a
	// filter of known keys adds them. Empty for a deletion.
	Hashes []Hash
	// Reset says that any token may have changed (the feed just started,
	// or may have missed changes): drop everything. ID and Hashes are
	// empty.
	Reset bool
}

// Use is a token's use for TouchMany: record At as its last use if that is
// unset or not after NotAfter.
type Use struct {
	ID           string
	At, NotAfter time.Time
}
