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
func ExampleWake() {
	dsn := os.Getenv("DATABASE_URL") // a pgx connection string
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	store, err := sqlstore.New(db, sqlstore.Options{Dialect: sqlstore.Postgres, Wake: pgnotify.Wake(dsn), PollInterval: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Hand store to cache.New, which watches its changes.
}
