package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/cache"
	"github.com/go-apitoken/apitoken/internal/dbopen"
	"github.com/go-apitoken/apitoken/internal/saltfile"
	"github.com/go-apitoken/apitoken/leak"
)

// config is what the server is started with.
type config struct {
	db            string // -db value; "" for APITOKEN_DB or apitoken.db
	saltFile      string // "" for next to the database
	getenv        func(string) string
	stdout        io.Writer // where a generated admin password is printed, once
	log           *slog.Logger
	durations     []apitoken.Duration // nil for Strapi's
	bcryptCost    int                 // 0 for bcrypt.DefaultCost; tests lower it
	cacheTTL      time.Duration       // how stale another instance's changes may be; 0 disables the cache
	staleTTL      time.Duration       // cache.Options.StaleIfError: serve expired entries while the database fails
	hexKeys       bool                // issue Strapi's 256-hex keys instead of prefixed ones
	shutdownGrace time.Duration       // how long to keep serving, without keep-alive, after SIGTERM
	allowedHosts  hostSet             // zero for loopbackHosts only
	// allowShortPassword accepts an ADMIN_PASSWORD shorter than
	// minPasswordLen.
	allowShortPassword bool
	// failureLimit limits failed authentications per client; nil for
	// none. -failure-limit sets it, on by default.
	failureLimit *apitoken.FailureLimit
	// githubKeys is the file of GitHub's secret scanning keys; "" leaves
	// POST /secret-scanning/github off.
	githubKeys string
}

// HTTP server limits. Each bounds what a slow or hostile client can hold.
const (
	// readHeaderTimeout bounds reading the request line and headers, so
	// that idle half-open connections (slowloris) are dropped.
	readHeaderTimeout = 5 * time.Second
	// readTimeout bounds reading the whole request, body included; bodies
	// are at most maxBodyBytes.
	readTimeout = 30 * time.Second
	// writeTimeout bounds the time from the end of the headers to the end
	// of the response.
	writeTimeout = 30 * time.Second
	// idleTimeout closes keep-alive connections left unused this long.
	idleTimeout = 2 * time.Minute
	// maxHeaderBytes bounds request headers; a 256-character key is far
	// below it.
	maxHeaderBytes = 64 << 10
	// shutdownTimeout is how long in-flight requests get to finish, and
	// then recorded token use to be written, after the shutdown grace.
	shutdownTimeout = 15 * time.Second
	// closeTimeout bounds the flush of recorded token use after Shutdown.
	closeTimeout = 5 * time.Second
	// defaultShutdownGrace is -shutdown-grace: how long the server keeps
	// answering, closing each connection after its response, before it
	// stops accepting. It covers requests already on the wire and a load
	// balancer's next health check.
	defaultShutdownGrace = 2 * time.Second
)

// app is the running demo: token service, content and HTTP handler.
type app struct {
	svc     *apitoken.Service
	tokens  *cache.Store
	db      *sql.DB
	handler http.Handler
	target  dbopen.Target
	log     *slog.Logger
	grace   time.Duration // how long to drain before Shutdown
	hosts   hostSet       // the hosts requests may name
	leaks   *leak.Revoke  // POST /api/revoke-leaked-key, waited for at close
	github  http.Handler  // POST /secret-scanning/github; nil when off
}

// newApp opens the database, finds the salt and the admin login, and builds
// the routes.
func newApp(ctx context.Context, cfg config) (*app, error) {
	cfg.log = slog.New(newQuietHandler(cfg.log.Handler()))
	value := dbopen.Value(cfg.db, cfg.getenv)
	target, err := dbopen.Parse(value)
	if err != nil {
		return nil, err
	}
	store, db, err := dbopen.OpenStore(ctx, target)
	if err != nil {
		return nil, err
	}
	saltPath := cfg.saltFile
	if saltPath == "" {
		saltPath = target.SidecarPath("salt")
	}
	salt, source, err := saltfile.Load(ctx, store, saltPath, cfg.getenv, cfg.log)
	if err == nil {
		err = saltfile.Check(ctx, store, salt, source, saltPath, cfg.getenv)
	}
	var creds credentials
	if err == nil {
		creds, err = loadCredentials(target.SidecarPath("admin"), cfg.getenv, cfg.bcryptCost, cfg.allowShortPassword, cfg.stdout, cfg.log)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	keyFormat := apitoken.PrefixedKeys // scannable keys for new installations; both forms verify
	if cfg.hexKeys {
		keyFormat = apitoken.HexKeys
	}
	// The cache answers repeated keys from memory. Changes made here take
	// effect at once; those made anywhere else (other instances, the CLI)
	// as the database's change feed reports them, or within cacheTTL while
	// the feed is lost.
	tokens := cache.New(store, cache.Options{TTL: optionTTL(cfg.cacheTTL), StaleIfError: cfg.staleTTL, Logger: cfg.log})
	svc, err := apitoken.New(apitoken.Config{
		Store:         tokens,
		Salt:          salt,
		PreviousSalts: saltfile.Previous(cfg.getenv),
		KeyFormat:     keyFormat,
		Actions:       &apitoken.Registry{},
		Durations:     cfg.durations,
		LookupTimeout: 5 * time.Second,
		Logger:        cfg.log,
		FailureLimit:  cfg.failureLimit,
		// Admin tokens act for the demo's one administrator.
		OwnerPermissions: ownerPermissions(creds.email),
	})
	if err != nil {
		tokens.Close()
		db.Close()
		return nil, err
	}
	a := &app{svc: svc, tokens: tokens, db: db, target: target, log: cfg.log, grace: cfg.shutdownGrace, hosts: cfg.allowedHosts}
	if !a.hosts.any && a.hosts.names == nil {
		a.hosts, _ = parseHosts("", "")
	}
	if err := a.leakRoutes(cfg); err != nil {
		a.close(ctx)
		return nil, err
	}
	if a.handler, err = a.routes(newAdminAuth(creds, cfg.log)); err != nil {
		a.close(ctx)
		return nil, err
	}
	cfg.log.Info("ready", "database", target.String(), "salt", string(source), "salt_file", saltPath)
	return a, nil
}

// routes builds the handler of every route.
func (a *app) routes(auth *adminAuth) (http.Handler, error) {
	mux := http.NewServeMux()

	articles := newCollection(field{"title", true, 255}, field{"body", false, 64 << 10})
	categories := newCollection(field{"name", true, 255})
	seed(articles, categories)
	for _, c := range []struct {
		path, uid string
		coll      *collection
	}{
		{"/api/articles", "api::article.article", articles},
		{"/api/categories", "api::category.category", categories},
	} {
		find, findOne, create, update, remove := restHandlers(c.coll)
		a.svc.HandleCollection(mux, c.path, c.uid, apitoken.Collection{
			Find: find, FindOne: findOne, Create: create, Update: update, Delete: remove,
		})
		if c.path == "/api/articles" {
			// The same list without a token: public content, and the
			// baseline that shows what checking a token costs.
			mux.Handle("GET /api/public/articles", find)
		}
	}

	gql, err := graphqlHandler(a.svc, "api::article.article", articles)
	if err != nil {
		return nil, err
	}
	mux.Handle("POST /graphql", a.svc.Authenticated(gql))
	self := stripPrefix("/api/tokens", a.svc.SelfHandler())
	mux.Handle("GET /api/tokens/self", self)
	mux.Handle("POST /api/tokens/self/rotate", self)
	mux.HandleFunc("GET /openapi.json", serveOpenAPI)
	mux.Handle("POST /api/revoke-leaked-key", a.leaks)
	if a.github != nil {
		mux.Handle("POST /secret-scanning/github", a.github)
	}

	admin, err := adminHandler(a.svc, auth.creds.email)
	if err != nil {
		return nil, err
	}
	// Cross-origin protection refuses state-changing requests that a
	// browser sends from another site; curl and scripts send no
	// Sec-Fetch-Site or Origin header and pass.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(crossOriginRefused)
	mux.Handle("/admin/", cop.Handler(auth.protect(stripPrefix("/admin", admin))))
	login := cop.Handler(auth.loginHandler()) // serves both paths
	mux.Handle("/admin/login", login)
	mux.Handle("/admin/logout", login)
	mux.Handle("GET /admin", http.RedirectHandler("/admin/", http.StatusMovedPermanently))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/", http.StatusFound)
	})
	return a.hosts.check(a.log, recoverPanics(a.log, muxErrors(mux))), nil
}

// seed puts a few documents in the collections.
func seed(articles, categories *collection) {
	articles.create(map[string]string{"title": "Hello, API tokens", "body": "Read me with any token."})
	articles.create(map[string]string{"title": "Read-only tokens", "body": "They may find and findOne, nothing else."})
	categories.create(map[string]string{"name": "News"})
	categories.create(map[string]string{"name": "Guides"})
}

// serve serves HTTP on ln until ctx is done, then shuts down: it drains
// for the grace period, stops accepting, lets in-flight requests finish,
// writes recorded token use and closes the database.
func (a *app) serve(ctx context.Context, ln net.Listener) error {
	var draining atomic.Bool // set at ctx's end: see drain
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if draining.Load() {
				w.Header().Set("Connection", "close")
			}
			a.handler.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("listening", "url", "http://"+ln.Addr().String(), "admin", "http://"+ln.Addr().String()+"/admin/")

	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		a.log.Info("shutting down", "grace", a.grace)
		serveErr = a.drain(&draining, errc)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("shutdown: %w", err))
	}
	// The flush of recorded use gets its own time: a client that held
	// Shutdown to its deadline must not cost every token's lastUsedAt.
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer ccancel()
	if err := a.close(cctx); err != nil {
		serveErr = errors.Join(serveErr, err)
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

// drain ends keep-alive while still serving for the grace period, so that
// connections close after answering the requests already sent on them.
//
// http.Server.Shutdown, and SetKeepAlivesEnabled(false) too, close at once
// every connection they consider idle, including one whose next request
// has arrived but not yet been read: that client gets a reset or EOF, and a
// GET retried on a new connection finds the listener closed. Answering with
// "Connection: close" instead lets each client's next request through and
// then ends its connection; Shutdown then closes only connections that sent
// nothing for the whole grace period.
func (a *app) drain(draining *atomic.Bool, errc <-chan error) error {
	draining.Store(true)
	t := time.NewTimer(a.grace)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case err := <-errc:
		return err
	}
}

// close writes recorded token use and closes the database.
func (a *app) close(ctx context.Context) error {
	if a.leaks != nil {
		a.leaks.Close()
	}
	err := a.svc.Close(ctx)
	if err != nil {
		err = fmt.Errorf("writing lastUsedAt: %w", err)
	}
	return errors.Join(err, a.tokens.Close(), a.db.Close())
}

// optionTTL is cache.Options.TTL for the -cache-ttl flag, where 0 disables
// the cache (a negative TTL does in the Options, where zero is the default).
func optionTTL(flag time.Duration) time.Duration {
	if flag == 0 {
		return -1
	}
	return flag
}
