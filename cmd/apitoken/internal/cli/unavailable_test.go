package cli

import (
	"net/url"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken/internal/faultproxy"
	"github.com/go-apitoken/apitoken/internal/testenv"
)

// TestStoreUnavailable: every command that needs the database exits 3 with
// a message that says the token store is unavailable and nothing changed,
// when the database refuses connections or hangs (through the fault proxy).
func TestStoreUnavailable(t *testing.T) {
	env["API_TOKEN_SALT"] = "cli-unavailable-salt-0123456789"
	t.Cleanup(func() { delete(env, "API_TOKEN_SALT") })
	for _, e := range []struct {
		name, env string
		via       func(t *testing.T, dsn string, proxy func(target string) string) string
	}{
		{"postgres", testenv.PostgresEnv, func(t *testing.T, dsn string, proxy func(string) string) string {
			u, err := url.Parse(dsn)
			require.NoError(t, err)
			u.Host = proxy(u.Host)
			q := u.Query()
			q.Set("connect_timeout", "1")
			u.RawQuery = q.Encode()
			return u.String()
		}},
		{"mysql", testenv.MySQLEnv, func(t *testing.T, dsn string, proxy func(string) string) string {
			cfg, err := mysql.ParseDSN(dsn)
			require.NoError(t, err)
			u := url.URL{Scheme: "mysql", User: url.User(cfg.User), Host: proxy(cfg.Addr), Path: "/" + cfg.DBName,
				RawQuery: "timeout=1s&readTimeout=1s"}
			if cfg.Passwd != "" {
				u.User = url.UserPassword(cfg.User, cfg.Passwd)
			}
			return u.String()
		}},
	} {
		t.Run(e.name, func(t *testing.T) {
			dsn := testenv.DSN(t, e.env)
			var p *faultproxy.Proxy
			db := e.via(t, dsn, func(target string) string {
				var err error
				p, err = faultproxy.New(target)
				require.NoError(t, err)
				t.Cleanup(func() { p.Close() })
				return p.Addr()
			})
			for _, mode := range []faultproxy.Mode{faultproxy.Refuse, faultproxy.Stall} {
				p.SetMode(mode)
				for _, args := range [][]string{
					{"list"}, {"show", "1"}, {"create", "--name", "x"}, {"update", "1", "--description", "d"},
					{"regenerate", "1"}, {"delete", "1"}, {"salt-status"},
				} {
					r := run(t, "", append([]string{"-db", db}, args...)...)
					assert.Equal(t, exitUnavailable, r.code, "mode %v: %s: %s", mode, strings.Join(args, " "), r.stderr)
					assert.Contains(t, r.stderr, "the token store is unavailable", "mode %v: %s", mode, args[0])
					assert.Empty(t, r.stdout)
				}
			}
		})
	}
}
