package dbopen

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"path/filepath"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken/internal/strapitest"
	"github.com/go-apitoken/apitoken/internal/testenv"
	"github.com/go-apitoken/apitoken/sqlstore"
	"github.com/go-apitoken/apitoken/strapistore"
)

// strapiTarget makes Strapi's token tables in a new SQLite file, PostgreSQL
// schema or MySQL database, and returns the -db value that reaches them.
func strapiTarget(t *testing.T, d sqlstore.Dialect) Target {
	t.Helper()
	ctx := context.Background()
	value := filepath.Join(t.TempDir(), "strapi.db")
	if d != sqlstore.SQLite {
		b := make([]byte, 5)
		rand.Read(b)
		name := "strapi_" + hex.EncodeToString(b)
		var admin *sql.DB
		var err error
		if d == sqlstore.Postgres {
			dsn := testenv.DSN(t, testenv.PostgresEnv)
			admin, err = sql.Open("pgx", dsn)
			require.NoError(t, err)
			_, err = admin.ExecContext(ctx, "CREATE SCHEMA "+name)
			value = dsn + "&search_path=" + name
		} else {
			cfg, perr := mysql.ParseDSN(testenv.DSN(t, testenv.MySQLEnv))
			require.NoError(t, perr)
			admin, err = sql.Open("mysql", cfg.FormatDSN())
			require.NoError(t, err)
			_, err = admin.ExecContext(ctx, "CREATE DATABASE "+name)
			value = "mysql://" + cfg.User + ":" + cfg.Passwd + "@" + cfg.Addr + "/" + name
		}
		require.NoError(t, err)
		t.Cleanup(func() {
			drop := "DROP DATABASE " + name
			if d == sqlstore.Postgres {
				drop = "DROP SCHEMA " + name + " CASCADE"
			}
			_, err := admin.Exec(drop)
			assert.NoError(t, err)
			admin.Close()
		})
	}
	target, err := Parse(value)
	require.NoError(t, err)
	db, err := Open(ctx, target)
	require.NoError(t, err)
	defer db.Close()
	for _, stmt := range strapitest.DDL(d, strapistore.V5, strapistore.DefaultTablePrefix) {
		_, err := db.ExecContext(ctx, stmt)
		require.NoError(t, err)
	}
	return target
}

// TestStrapiDatabase: OpenStore adds no tables to Strapi's database, and
// OpenReadOnly writes nothing to it.
func TestStrapiDatabase(t *testing.T) {
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres, sqlstore.MySQL} {
		t.Run(d.String(), func(t *testing.T) {
			ctx := context.Background()
			target := strapiTarget(t, d)
			_, _, err := OpenStore(ctx, target)
			require.ErrorIs(t, err, ErrStrapiDB)

			db, err := OpenReadOnly(ctx, target)
			require.NoError(t, err)
			defer db.Close()
			assert.True(t, hasTable(ctx, db, "strapi_api_tokens"))
			assert.False(t, hasTable(ctx, db, "apitoken_tokens"), "OpenStore made its tables")
			assert.False(t, hasTable(ctx, db, "apitoken_migrations"), "OpenStore made its tables")
			if d != sqlstore.MySQL {
				_, err = db.ExecContext(ctx, "DELETE FROM strapi_api_tokens")
				assert.Error(t, err, "a read-only connection wrote")
			}
		})
	}
}
