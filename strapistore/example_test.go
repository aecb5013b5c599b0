package strapistore_test

import (
	"context"
	"database/sql"
	"log"
	"net/http"
	"os"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
	"github.com/go-apitoken/apitoken/strapistore"
)

// A Go service beside a Strapi 5 CMS on PostgreSQL verifies the API tokens
// Strapi issued: same database, same salt.
func ExampleNew() {
	db, err := sql.Open("pgx", os.Getenv("STRAPI_DATABASE_URL")) // import _ "github.com/jackc/pgx/v5/stdlib"
	if err != nil {
		log.Fatal(err)
	}
	store, err := strapistore.New(db, strapistore.Options{Version: strapistore.V5, Dialect: strapistore.Postgres})
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := apitoken.New(apitoken.Config{
		Store:         store,
		Salt:          os.Getenv("API_TOKEN_SALT"), // Strapi's apiToken.salt
		EncryptionKey: os.Getenv("ENCRYPTION_KEY"), // Strapi's admin.secrets.encryptionKey, if set
	})
	if err != nil {
		log.Fatal(err)
	}
	defer tokens.Close(context.Background())

	http.Handle("GET /api/articles", tokens.Require("api::article.article.find")(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("[]")) })))
	log.Fatal(http.ListenAndServe(":8080", nil))
}

// Moving away from Strapi: copy its tokens into another store. Running it
// again brings over what changed in Strapi since.
func ExampleImport() {
	db, err := sql.Open("sqlite", "strapi/.tmp/data.db") // import _ "modernc.org/sqlite"
	if err != nil {
		log.Fatal(err)
	}
	from, err := strapistore.New(db, strapistore.Options{Version: strapistore.V4, Dialect: strapistore.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	to := memstore.New() // or a sqlstore.Store
	rep, err := strapistore.Import(context.Background(), from, to, strapistore.ImportOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range rep.Changes {
		log.Printf("%s token %s (%q) %v %s", c.Op, c.ID, c.Name, c.Fields, c.Reason)
	}
}
