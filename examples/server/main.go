// Command server is a demo of the apitoken library: a small content API in
// Strapi v5's REST shapes and a GraphQL API, both protected by API tokens,
// and the admin screen and API that manage the tokens.
//
//	go run ./examples/server                       # http://127.0.0.1:1337, SQLite in ./apitoken.db
//	go run ./examples/server -db postgres://…      # or mysql://user:pass@host:3306/db
//
// Tokens live in the database; the articles and categories live in memory
// and are seeded again at each start. The salt comes from API_TOKEN_SALT, or
// from a file next to the database that is generated once (see
// internal/saltfile). The admin login comes from ADMIN_EMAIL and
// ADMIN_PASSWORD, or is generated at the first start and printed once.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/internal/dbopen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second signal ends the process at once
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run parses the command line, starts the server and serves until ctx is
// done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, addr, err := parseFlags(args, getenv, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	a, err := newApp(ctx, cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		a.close(ctx)
		return err
	}
	return a.serve(ctx, ln)
}

// defaultFailureLimit is -failure-limit's default: ten failed
// authentications in a row, then one every six seconds.
const defaultFailureLimit = "10/1m"

// parseFlags returns the server's config and listen address for the
// command line args. It refuses malformed values, naming the flag.
func parseFlags(args []string, getenv func(string) string, stdout, stderr io.Writer) (config, string, error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:1337", "listen address (Strapi's port by default)")
	db := fs.String("db", "", "database: a SQLite file, postgres://… or mysql://user:pass@host:port/db (default $"+dbopen.EnvVar+", else "+dbopen.DefaultPath+")")
	saltFile := fs.String("salt-file", "", "where the salt is kept when API_TOKEN_SALT is not set (default DATABASE.salt for SQLite, ./apitoken.salt otherwise)")
	cacheTTL := fs.Duration("cache-ttl", cache.DefaultTTL, "while the database's change feed is lost, how long a verified key is answered from memory (0 disables the cache)")
	staleTTL := fs.Duration("cache-stale-if-error", 0, "while the database fails, keep accepting keys whose cache entry expired less than this ago (at most 1m; 0 disables)")
	grace := fs.Duration("shutdown-grace", defaultShutdownGrace, "after SIGINT or SIGTERM, keep answering for this long, closing each connection after its response, before refusing new connections")
	hexKeys := fs.Bool("hex-keys", false, "issue Strapi's 256-hex keys instead of prefixed, scannable ones (both always verify)")
	allowShort := fs.Bool("allow-short-password", false, "accept an ADMIN_PASSWORD shorter than 12 characters")
	allowedHosts := fs.String("allowed-hosts", "", "host names and IP addresses that requests may name in their Host header, comma-separated, or * for any (default: the host of -addr, localhost, 127.0.0.1 and ::1)")
	githubKeys := fs.String("github-keys", "", "a JSON file of GitHub's secret scanning public keys (https://api.github.com/meta/public_keys/secret_scanning): turns on POST /secret-scanning/github (default $"+githubKeysEnv+"; off when neither is set)")
	failureLimit := fs.String("failure-limit", defaultFailureLimit, "failed authentications a client may have, as N/DURATION: N in a row, then N per DURATION; past it, 429 unchecked (off: no limit)")
	if err := fs.Parse(args); err != nil {
		return config{}, "", err
	}
	if fs.NArg() > 0 {
		return config{}, "", fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *cacheTTL < 0 {
		return config{}, "", fmt.Errorf("-cache-ttl must not be negative")
	}
	if *grace < 0 {
		return config{}, "", fmt.Errorf("-shutdown-grace must not be negative")
	}
	if *staleTTL < 0 || *staleTTL > cache.MaxStaleIfError {
		return config{}, "", fmt.Errorf("-cache-stale-if-error must be between 0 and %v", cache.MaxStaleIfError)
	}
	hosts, err := parseHosts(*allowedHosts, *addr)
	if err != nil {
		return config{}, "", err
	}
	limit, err := parseFailureLimit(*failureLimit)
	if err != nil {
		return config{}, "", err
	}
	if *githubKeys == "" {
		*githubKeys = getenv(githubKeysEnv)
	}
	return config{
		db: *db, saltFile: *saltFile, getenv: getenv, stdout: stdout, log: slog.New(slog.NewTextHandler(stderr, nil)),
		cacheTTL: *cacheTTL, staleTTL: *staleTTL, hexKeys: *hexKeys, shutdownGrace: *grace,
		allowedHosts: hosts, allowShortPassword: *allowShort, failureLimit: limit,
		githubKeys: *githubKeys,
	}, *addr, nil
}

// maxFailureBurst and maxFailurePeriod bound -failure-limit.
const (
	maxFailureBurst  = 100_000
	maxFailurePeriod = 24 * time.Hour
)

// parseFailureLimit parses -failure-limit: N/DURATION, N failures in a row
// and N more each DURATION, or off.
func parseFailureLimit(value string) (*apitoken.FailureLimit, error) {
	value = strings.TrimSpace(value)
	if value == "off" {
		return nil, nil
	}
	bad := func(why string) error {
		return fmt.Errorf("-failure-limit %q: %s; want N/DURATION such as %s (N failures in a row, then N per DURATION), or off", truncate(value, 40), why, defaultFailureLimit)
	}
	n, d, ok := strings.Cut(value, "/")
	if !ok {
		return nil, bad("no /")
	}
	burst, err := strconv.Atoi(n)
	if err != nil || burst < 1 || burst > maxFailureBurst || strings.TrimLeft(n, "0123456789") != "" {
		return nil, bad(fmt.Sprintf("N must be a whole number from 1 to %d", maxFailureBurst))
	}
	period, err := time.ParseDuration(d)
	if err != nil || period <= 0 || period > maxFailurePeriod {
		return nil, bad(fmt.Sprintf("DURATION must be a duration such as 1m, at most %v", maxFailurePeriod))
	}
	return &apitoken.FailureLimit{Rate: rate.Limit(float64(burst) / period.Seconds()), Burst: burst}, nil
}
