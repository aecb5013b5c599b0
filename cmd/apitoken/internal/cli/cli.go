// Package cli is the apitoken command: it creates, lists, shows, updates,
// regenerates, deletes and verifies API tokens in the database the demo
// server uses, with the same -db value and the same salt; it reads Strapi's
// database in place (-strapi) and imports from it (import-strapi).
//
// It lives here rather than in cmd/apitoken so that tests, including the
// demo server's end-to-end test, can run it in-process.
package cli

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/internal/dbopen"
	"github.com/go-apitoken/apitoken/internal/saltfile"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1 // the command failed, or verify refused the key
	exitUsage = 2 // the command line is wrong
	// exitUnavailable: the database could not be reached; the same
	// command may work when it is back.
	exitUnavailable = 3
)

const usage = `usage: apitoken [-db DATABASE] [-salt-file PATH] [-strapi v4|v5] COMMAND [flags] [ID|NAME]

Manages the API tokens of the demo server's database, or reads those of a
Strapi database in place (-strapi).

Commands:
  create        --name NAME [--description TEXT] [--type TYPE] [--duration D] [--permission ACTION]...
                [restrictions] [--kind admin --owner ID [--owner-permissions P,P...]]
  list          [--expiring D | --idle D] [--kind content-api|admin]   (e.g. --expiring 7d: those to renew)
  show          ID|NAME
  update        ID|NAME [--name NAME] [--description TEXT] [--type TYPE] [--duration D] [--permission ACTION]...
                [restrictions] [--owner-permissions P,P...]
  regenerate    ID|NAME
  delete        ID|NAME
  revoke-idle   --idle D [--dry-run]   deletes the tokens unused for D (e.g. 365d)
  verify        --key -|KEY [--action ACTION]
  salt-status   tokens per salt: current, previous, unknown (not configured), none (Strapi's)
  import-strapi --from DATABASE [--strapi v4|v5] [--prefix strapi_] [--dry-run] [--prune]
                copies Strapi's tokens here; run again, brings over what changed

Restrictions: --disable | --enable, --allow-ip NETWORK (repeatable) | --allow-any-ip,
--rate-limit N/WINDOW (e.g. 100/1m) | none, --quota N[/daily|/monthly] | none.

Every command takes --json (output for scripts), -db and -salt-file.
-strapi and import-strapi need Strapi's salt: API_TOKEN_SALT or -salt-file.
create and regenerate print the key once; with --quiet they print only the key.
verify exits 0 when the key is valid (and allowed ACTION), 1 when it is not.
Every command exits 3 when the database cannot be reached (try again later).
A change (update, regenerate, delete) reaches a running server when it next
looks the key up in the database: at once for a server without a cache, and
within a quarter of a second for one whose cache watches the database's
change feed, as the demo server's does (its -cache-ttl, 5s, if the feed is lost).
Pass the key to verify on standard input with --key - to keep it out of your
shell history:  apitoken verify --key - < key.txt

  -db DATABASE      a SQLite file, postgres://… or mysql://user:pass@host:port/db
                    (default $APITOKEN_DB, else apitoken.db)
  -salt-file PATH   where the salt is kept when API_TOKEN_SALT is not set
                    (default DATABASE.salt for SQLite, ./apitoken.salt otherwise)
  -strapi v4|v5     DATABASE is that Strapi's: list, show, verify and salt-status
                    read it in place and write nothing, not even last use
  -strapi-prefix P  with -strapi: Strapi's table prefix (default strapi_)

TYPE is read-only (default), full-access or custom; D is 7d, 30d, 90d or
unlimited (default); ACTION is e.g. api::article.article.find.

Admin tokens (--kind admin; the default is content-api) open the server's
admin routes only, for the administrator --owner (their id as the server
names them), with admin permissions (--permission admin::api-tokens.read).
This command knows no administrators: it grants within the permissions
--owner-permissions says the owner holds, by default every permission of
the admin API. The server allows only those the owner really holds, asking
on every use, and refuses the token of an owner it does not know. A token's
kind and owner never change; verify checks content-API keys only.
`

// getenv reads the environment; tests replace it.
var getenv = os.Getenv

// Run runs the command line args (without the program name) and returns the
// exit status. Output goes to stdout, errors to stderr, where nothing that
// could be a key is shown; verify --key - reads stdin.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	stderr = hideKeys{stderr}
	global := flag.NewFlagSet("apitoken", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	var db, saltFile, strapi, strapiPrefix string
	global.StringVar(&db, "db", "", "")
	global.StringVar(&saltFile, "salt-file", "", "")
	global.StringVar(&strapi, "strapi", "", "")
	global.StringVar(&strapiPrefix, "strapi-prefix", "", "")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		return usageError(stderr, "", err)
	}
	args = global.Args()
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	name, args := args[0], args[1:]
	cmd, ok := commands[name]
	if !ok {
		if name == "help" {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		return usageError(stderr, "", fmt.Errorf("unknown command %q", clean(truncate(name, 40))))
	}
	c := &command{name: name, stdin: stdin, stdout: stdout, stderr: stderr, strapi: strapi, strapiPrefix: strapiPrefix}
	c.flags = flag.NewFlagSet("apitoken "+name, flag.ContinueOnError)
	c.flags.SetOutput(io.Discard)
	c.flags.StringVar(&c.db, "db", db, "database: a SQLite file, postgres://… or mysql://…")
	c.flags.StringVar(&c.saltFile, "salt-file", saltFile, "salt file, when API_TOKEN_SALT is not set")
	c.flags.BoolVar(&c.json, "json", false, "print JSON")
	c.flags.BoolVar(&c.hexKeys, "hex-keys", false, "issue Strapi's 256-hex keys instead of prefixed, scannable ones (both always verify)")
	if name != "import-strapi" { // whose --strapi and --prefix describe --from
		c.flags.StringVar(&c.strapi, "strapi", strapi, "v4 or v5: -db is that Strapi's database; read its tokens in place, changing nothing")
		c.flags.StringVar(&c.strapiPrefix, "strapi-prefix", strapiPrefix, "with -strapi: Strapi's table prefix (default strapi_)")
	}
	run := cmd.setup(c)
	pos, err := parseInterspersed(c.flags, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.printHelp(cmd, stdout)
			return exitOK
		}
		return usageError(stderr, name, err)
	}
	if len(pos) != cmd.positional {
		if name == "verify" {
			return usageError(stderr, name, errors.New("verify takes no argument: give the key with --key - on standard input"))
		}
		if cmd.positional == 0 {
			return usageError(stderr, name, fmt.Errorf("unexpected argument %q", clean(truncate(pos[0], 40))))
		}
		return usageError(stderr, name, errors.New("want one ID or NAME of a token"))
	}
	c.args = pos
	if err := c.checkStrapiMode(); err != nil {
		return usageError(stderr, name, err)
	}
	if err := run(ctx); err != nil {
		var ue usageErr
		if errors.As(err, &ue) {
			return usageError(stderr, name, err)
		}
		if errors.Is(err, errRefused) {
			return exitFail // verify has said why
		}
		fmt.Fprintf(stderr, "apitoken %s: %s\n", name, clean(message(err)))
		if errors.Is(err, apitoken.ErrUnavailable) {
			return exitUnavailable
		}
		return exitFail
	}
	return exitOK
}

// commandSpec describes a command: setup declares its flags and returns the
// function that runs it.
type commandSpec struct {
	summary    string
	positional int // number of positional arguments: 0, or 1 for ID|NAME
	setup      func(*command) func(context.Context) error
}

// command is one run of a command: its flags, streams and service.
type command struct {
	name           string
	flags          *flag.FlagSet
	db, saltFile   string
	json, hexKeys  bool
	strapi         string // -strapi: "", or the version of the Strapi database -db names
	strapiPrefix   string
	salt           string   // set by open
	ownerPerms     permList // --owner-permissions; nil: not given
	args           []string
	stdin          io.Reader
	stdout, stderr io.Writer
}

func (c *command) printHelp(cmd commandSpec, w io.Writer) {
	fmt.Fprintf(w, "usage: apitoken %s %s\n\n%s\n\nFlags:\n", c.name, map[int]string{0: "[flags]", 1: "[flags] ID|NAME"}[cmd.positional], cmd.summary)
	c.flags.SetOutput(w)
	c.flags.PrintDefaults()
}

// open opens the store and makes a Service over it with the salt the server
// uses. mustExist refuses to create a missing SQLite file, so that a mistyped
// -db does not quietly make an empty database and a new salt.
func (c *command) open(ctx context.Context, mustExist bool) (*apitoken.Service, func(), error) {
	value := dbopen.Value(c.db, getenv)
	target, err := dbopen.Parse(value)
	if err != nil {
		return nil, nil, err
	}
	if (mustExist || c.strapi != "") && target.Path != "" {
		if _, err := os.Stat(target.Path); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("no database at %s: check -db or %s, or create a token first", target.Path, dbopen.EnvVar)
		}
	}
	var store apitoken.Store
	var db *sql.DB
	if c.strapi != "" {
		store, db, err = c.openStrapi(ctx, target)
	} else {
		store, db, err = dbopen.OpenStore(ctx, target)
	}
	if err != nil {
		return nil, nil, err
	}
	svc, err := c.service(ctx, store, target)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return svc, func() {
		svc.Close(context.WithoutCancel(ctx))
		db.Close()
	}, nil
}

// service makes the Service over store with the salt of the server. It
// never generates a salt for a store that holds tokens, and, except for
// salt-status (which reports) and delete (which removes tokens nobody can
// use), it refuses a salt that did not make the store's tokens.
func (c *command) service(ctx context.Context, store apitoken.Store, target dbopen.Target) (*apitoken.Service, error) {
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	saltPath := c.saltFile
	if saltPath == "" {
		saltPath = target.SidecarPath("salt")
	}
	salt, src, err := saltfile.Load(ctx, store, saltPath, getenv, log)
	if err != nil {
		return nil, err
	}
	c.salt = salt
	if c.name != "salt-status" && c.name != "delete" {
		if err := saltfile.Check(ctx, store, salt, src, saltPath, getenv); err != nil {
			return nil, err
		}
	}
	// The CLI declares no routes, so it cannot know the server's actions:
	// it checks custom permissions for form only.
	keyFormat := apitoken.PrefixedKeys
	if c.hexKeys {
		keyFormat = apitoken.HexKeys
	}
	// A command gives no expiry events: the servers do, and a notice
	// claimed here would be one they never give. It knows no
	// administrators: an admin token's owner holds what the operator says
	// (see ownerPermissions).
	return apitoken.New(apitoken.Config{Store: store, Salt: salt, PreviousSalts: saltfile.Previous(getenv),
		KeyFormat: keyFormat, Logger: log, AnyAction: true, ExpiryWarning: -1, OwnerPermissions: c.ownerPermissions})
}

// parseInterspersed parses flags that may come before or after positional
// arguments, and returns the positional ones. After "--" everything is
// positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageErr is a mistake on the command line.
type usageErr struct{ error }

func usageError(w io.Writer, cmd string, err error) int {
	var ue usageErr
	if errors.As(err, &ue) {
		err = ue.error
	}
	if cmd == "" {
		fmt.Fprintf(w, "apitoken: %s\nRun 'apitoken -h' for usage.\n", clean(err.Error()))
	} else {
		fmt.Fprintf(w, "apitoken %s: %s\nRun 'apitoken %s -h' for usage.\n", cmd, clean(err.Error()), cmd)
	}
	return exitUsage
}

// errRefused is verify's answer "no", which it has already explained.
var errRefused = errors.New("refused")

// message returns err's text for a person: a validation error's field
// messages without the package prefix.
func message(err error) string {
	var v *apitoken.ValidationError
	if errors.As(err, &v) {
		msgs := make([]string, len(v.Errors))
		for i, fe := range v.Errors {
			msgs[i] = fe.Message
		}
		return "invalid input: " + strings.Join(msgs, "; ")
	}
	if errors.Is(err, dbopen.ErrStrapiDB) {
		return err.Error() + ": read its tokens in place with -strapi v4|v5, or copy them into a database of their own with import-strapi --from"
	}
	if errors.Is(err, apitoken.ErrNotFound) {
		return "no token has that id or name; run 'apitoken list' to see them"
	}
	if errors.Is(err, apitoken.ErrUnavailable) {
		return "the token store is unavailable, try again when the database is back: " + err.Error()
	}
	return err.Error()
}

// truncate shortens s to n bytes. Messages truncate what they quote to at
// least 40 bytes, so that a truncated key is still long enough for hideKeys
// to hide it.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
