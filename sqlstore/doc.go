// Package sqlstore keeps API tokens in SQLite, PostgreSQL or MySQL/MariaDB
// through database/sql, so that they survive restarts and are shared by every
// instance of a server.
//
// The package imports no driver: open the *sql.DB with the driver you use,
// tell New which engine it is, and call Migrate once at start-up.
//
//	import _ "modernc.org/sqlite"                 // Dialect SQLite, driver "sqlite"
//	import _ "github.com/jackc/pgx/v5/stdlib"     // Dialect Postgres, driver "pgx"
//	import _ "github.com/go-sql-driver/mysql"     // Dialect MySQL, driver "mysql"
//
//	db, err := sql.Open("pgx", "postgres://app@db:5432/app")
//	store, err := sqlstore.New(db, sqlstore.Options{Dialect: sqlstore.Postgres})
//	err = store.Migrate(ctx)
//	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: salt})
//
// PostgreSQL and MySQL need no DSN parameter. On MySQL, parseTime and loc
// may be set or not: times are written and read as UTC wall-clock text.
//
// On SQLite, the store deletes permissions itself rather than relying on
// foreign_keys, and retries writes while another connection holds the write
// lock. Use WAL with a busy_timeout (recommended), or a single connection
// (db.SetMaxOpenConns(1)): in SQLite's default rollback-journal mode with
// several connections and no busy_timeout, a connection that cannot read a
// schema changed by another reports "no such table".
//
// # Schema
//
// Four tables, named with Options.TablePrefix (default "apitoken_"):
//
//   - <prefix>tokens: one row per token. id is the primary key; name and
//     key_hash (the 128 hex characters of apitoken.Hash) each have a unique
//     index, the first so that names are unique under concurrency, the
//     second so that verifying a key is one index lookup. prev_key_hash
//     (also unique), prev_valid_until and prev_salt_id (migration 0009;
//     the salt the previous key needs) hold the previous key during a
//     graceful regeneration. key_hint is Token.KeyHint, the key's prefix
//     and last 4 characters. lifespan_ms is NULL for unlimited, as in
//     Strapi. kind is Token.Kind, "content-api" or "admin" as in Strapi's
//     column (a CHECK allows no other; tokens from before migration 0008
//     are content-API tokens), and owner is Token.Owner, NULL for none, at
//     most 255 bytes: Create writes them and nothing changes them.
//   - <prefix>permissions: (token_id, action), the primary key, with a
//     foreign key to the token that cascades on delete.
//   - <prefix>changes: the change log behind WatchChanges, one row per
//     changed token (seq, token_id, changed_at), written by triggers on the
//     other two tables so that every writer is seen; pruned after an hour.
//   - <prefix>migrations: the applied schema versions.
//
// Names and actions compare and sort bytewise on every engine: the "C"
// collation on PostgreSQL, utf8mb4_bin on MySQL, SQLite's default BINARY.
// Note that utf8mb4_bin ignores trailing spaces when comparing, so on MySQL
// "a" and "a " are one name; the Service trims names, so this does not arise
// through it.
//
// Times are UTC with millisecond precision: timestamptz(3) on PostgreSQL,
// DATETIME(3) on MySQL, and INTEGER milliseconds since the Unix epoch on
// SQLite, which has no time type; integers are exact, compact, and compare
// as numbers in the Touch condition.
//
// # Concurrency and atomicity
//
// A Store is safe for concurrent use, by goroutines and by server instances
// sharing the database. Create, Update, SetKey and Delete each run in one
// transaction, so a token is never visible without its permissions even if
// the process dies mid-call; Touch is one conditional UPDATE.
//
// # Change feed
//
// A Store is an apitoken.ChangeFeed: WatchChanges reads the change log every
// Options.PollInterval (250 ms by default), or at once when Options.Wake
// says a change committed (package pgnotify does, on PostgreSQL). On MySQL
// with binary logging on, Migrate needs SUPER or
// log_bin_trust_function_creators=1 to create the triggers.
//
// # Read replica
//
// With Options.Replica, Get, GetByHash and List read a replica while a
// WatchChanges runs and the replica has caught up; everything else uses the
// primary. A token that the change log reports changed, or that this Store
// wrote, is read from the primary until the replica's copy of the log holds
// the change, and a token the replica lacks is looked for on the primary.
// So the replica's lag never undoes a change made through this Store, nor
// one made elsewhere once the feed has reported it: the bound the cache
// already has. See the Replica option and ReplicaStats.
package sqlstore
