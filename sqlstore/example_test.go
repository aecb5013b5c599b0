package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// Open SQLite with WAL and a busy timeout, create the schema, and keep the
// tokens of a Service in it.
func Example() {
	dir, err := os.MkdirTemp("", "apitoken")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	dsn := "file:" + filepath.Join(dir, "tokens.db") +
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	ctx := context.Background()
	store, err := sqlstore.New(db, sqlstore.Options{Dialect: sqlstore.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	svc, err := apitoken.New(apitoken.Config{Store: store, Salt: "an example salt of 16+ bytes",
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close(ctx)
	svc.Actions().Register("api::article.article.find") // as svc.Require does for a route
	_, key, err := svc.Create(ctx, apitoken.CreateParams{Name: "ci", Type: apitoken.Custom,
		Permissions: []string{"api::article.article.find"}})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := svc.Verify(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Name, tok.Type, tok.Permissions)
	// Output: ci custom [api::article.article.find]
}

// Open PostgreSQL through pgx's database/sql driver, with a pool sized for a
// store that answers one indexed query per request.
func ExampleNew_postgres() {
	// import _ "github.com/jackc/pgx/v5/stdlib"
	db, err := sql.Open("pgx", "postgres://app:secret@db.internal:5432/app?sslmode=verify-full")
	if err != nil {
		log.Fatal(err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxLifetime(30 * time.Minute)
	db.SetConnMaxIdleTime(5 * time.Minute)
	store, err := sqlstore.New(db, sqlstore.Options{Dialect: sqlstore.Postgres})
	if err != nil {
		log.Fatal(err)
	}
	_ = store // store.Migrate(ctx), then apitoken.Config{Store: store}
}

// Open MySQL or MariaDB. The store needs no DSN parameters: parseTime and
// loc may be set for the application's own tables.
func ExampleNew_mysql() {
	// import _ "github.com/go-sql-driver/mysql"
	db, err := sql.Open("mysql", "app:secret@tcp(db.internal:3306)/app")
	if err != nil {
		log.Fatal(err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxLifetime(3 * time.Minute) // below the server's wait_timeout
	store, err := sqlstore.New(db, sqlstore.Options{Dialect: sqlstore.MySQL, TablePrefix: "myapp_apitoken_"})
	if err != nil {
		log.Fatal(err)
	}
	_ = store // store.Migrate(ctx), then apitoken.Config{Store: store}
}

// Read from a PostgreSQL streaming replica, writing to the primary. The
// cache runs the store's change feed, which the store needs to follow what
// the replica has not replayed yet; without a cache, run
// store.WatchChanges yourself.
func ExampleNew_replica() {
	// import _ "github.com/jackc/pgx/v5/stdlib"
	primary, err := sql.Open("pgx", "postgres://app:secret@db-primary.internal:5432/app")
	if err != nil {
		log.Fatal(err)
	}
	replica, err := sql.Open("pgx", "postgres://app:secret@db-replica-1.internal:5432/app")
	if err != nil {
		log.Fatal(err)
	}
	store, err := sqlstore.New(primary, sqlstore.Options{Dialect: sqlstore.Postgres, Replica: replica})
	if err != nil {
		log.Fatal(err)
	}
	tokens := cache.New(store, cache.Options{})
	defer tokens.Close()
	_ = tokens // store.Migrate(ctx), then apitoken.Config{Store: tokens}
}

// Instances sharing a database enforce each token's rate limit together
// when the store counts their requests (Config.SharedRates): here two
// Services, as two instances would be, share a limit of 2 a minute.
func ExampleStore_TakeRate() {
	dir, err := os.MkdirTemp("", "apitoken")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "tokens.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	store, err := sqlstore.New(db, sqlstore.Options{Dialect: sqlstore.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	var instances []*apitoken.Service
	for range 2 {
		svc, err := apitoken.New(apitoken.Config{
			Store:       cache.New(store, cache.Options{}),
			SharedRates: store, // one round trip per batch of requests
			Salt:        "an example salt of 16+ bytes",
			Logger:      slog.New(slog.DiscardHandler),
		})
		if err != nil {
			log.Fatal(err)
		}
		defer svc.Close(ctx)
		instances = append(instances, svc)
	}
	_, key, err := instances[0].Create(ctx, apitoken.CreateParams{Name: "script", PolicyParams: apitoken.PolicyParams{
		RateLimit: &apitoken.RateLimit{Requests: 2, Window: apitoken.Duration(time.Minute)}}})
	if err != nil {
		log.Fatal(err)
	}
	for i := range 3 {
		if _, err := instances[i%2].Verify(ctx, key); err != nil {
			fmt.Println(apitoken.StatusCode(err), err)
		} else {
			fmt.Println("ok")
		}
	}
	// Output:
	// ok
	// ok
	// 429 apitoken: token rate limit exceeded
}
