package redisrate_test

import (
	"context"
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/memstore"
	"github.com/go-apitoken/apitoken/redisrate"
)

// Every instance given a Counter on the same Redis enforces each token's
// rate limit together with the others.
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	svc, err := apitoken.New(apitoken.Config{
		Store:       memstore.New(), // sqlstore in production
		Salt:        "a-secret-salt-of-16-bytes-or-more",
		SharedRates: redisrate.New(rdb, redisrate.Options{Prefix: "myapp:rate:"}),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close(context.Background())
}
