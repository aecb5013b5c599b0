package cache_test

import (
	"context"
	"log"
	"time"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/memstore"
)

// Put the cache in front of a slow store, such as sqlstore. Changes made
// through this Service apply at once; those made by other instances within
// TTL, the staleness bound.
func ExampleNew() {
	var store apitoken.Store = memstore.New() // sqlstore.New(db, …) in production
	svc, err := apitoken.New(apitoken.Config{
		Store: cache.New(store, cache.Options{TTL: 5 * time.Second}),
		Salt:  "change-me-to-a-random-secret",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close(context.Background())
}
