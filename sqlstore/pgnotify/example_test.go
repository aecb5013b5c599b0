package pgnotify_test

import (
	"context"
	"database/sql"
	"log"
	"os"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/go-apitoken/apitoken/sqlstore"
	"github.com/go-apitoken/apitoken/sqlstore/pgnotify"
)

// Wake a PostgreSQL store's change feed at each commit; the poll, now a
// fallback, can be slow.
func ExampleListener_Wake() {
	dsn := os.Getenv("DATABASE_URL")
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	l, err := pgnotify.New(dsn) // a pgx connection string
	if err != nil {
		log.Fatal(err)
	}
	store, err := sqlstore.New(db, sqlstore.Options{Dialect: sqlstore.Postgres, Wake: l.Wake, PollInterval: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Hand store to cache.New, which watches its changes.
}
