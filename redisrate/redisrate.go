// Package redisrate counts the requests of rate-limited API tokens in Redis,
// so that every instance of a service given the same Counter as
// apitoken.Config.SharedRates enforces each token's Policy.RateLimit
// together:
//
//	svc, err := apitoken.New(apitoken.Config{
//		Store:       store,
//		SharedRates: redisrate.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}), redisrate.Options{}),
//	})
//
// Each take of a batch is one script run, one round trip: the Service asks
// once per batch of requests, not per request.
package redisrate

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-apitoken/apitoken"
)

// DefaultPrefix starts the keys of a Counter when Options.Prefix is empty.
const DefaultPrefix = "apitoken:rate:"

// maxID bounds the token ids a Counter counts.
const maxID = 1024

// Options configure a Counter.
type Options struct {
	// Prefix starts the name of every key the Counter writes, so that
	// several services can share a Redis. Default DefaultPrefix.
	Prefix string
}

// Counter is an apitoken.RateCounter that keeps each token's window count
// in a Redis key, prefix + token id + ":" + the window's start in Unix
// milliseconds, that expires one window after the window ends (two after
// it was first counted). It is safe for concurrent use.
type Counter struct {
	client redis.Scripter
	prefix string
}

var _ apitoken.RateCounter = (*Counter)(nil)

// New returns a Counter that keeps its counts through client: a
// *redis.Client, a *redis.ClusterClient (each count is one key), or any
// redis.Scripter.
func New(client redis.Scripter, opts Options) *Counter {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	return &Counter{client: client, prefix: opts.Prefix}
}

// take is TakeRate's script. KEYS[1]: the window's count. ARGV: the limit,
// the requests asked, the key's lifetime in milliseconds. It returns what
// it granted and the count after. Redis runs a script alone, so the read
// and the addition are one atomic step.
//
//go:embed take.lua
var takeSource string

var take = redis.NewScript(takeSource)

// TakeRate implements apitoken.RateCounter with one script run: EVALSHA,
// and EVAL the first time a Redis has not seen the script.
func (c *Counter) TakeRate(ctx context.Context, id string, start time.Time, window time.Duration, limit, n int) (granted, count int, err error) {
	if id == "" || len(id) > maxID {
		return 0, 0, fmt.Errorf("redisrate: token id %.20q… cannot be counted: it must be 1 to %d bytes", id, maxID)
	}
	if limit < 1 || n < 1 || window < time.Millisecond {
		return 0, 0, fmt.Errorf("redisrate: limit %d, n %d and window %v must be positive", limit, n, window)
	}
	key := c.prefix + id + ":" + strconv.FormatInt(start.UnixMilli(), 10)
	res, err := take.Run(ctx, c.client, []string{key}, limit, min(n, limit), (2 * window).Milliseconds()).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("redisrate: take rate: %w", err)
	}
	if len(res) != 2 {
		return 0, 0, errors.New("redisrate: take rate: the script answered with something else than two numbers")
	}
	return int(res[0]), int(res[1]), nil
}
