package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/apitokentest"
	"github.com/go-apitoken/apitoken/internal/sqlq"
	"github.com/go-apitoken/apitoken/sqlstore"
)

// TestMigratePrevSaltID upgrades the tables of the release before
// previous keys' salt ids were kept (migration 0008), holding a token in a
// graceful regeneration's overlap, to migration 0009: the previous key
// still works, its salt id reads as "" (it cannot be told), so CountSalts
// counts the token as unidentified while that key works, and the next
// regeneration keeps the salt id.
func TestMigratePrevSaltID(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := e.open(t)
			prefix := freshPrefix(t)
			dropTables(t, db, e.dialect, prefix)
			s, err := sqlstore.New(db, sqlstore.Options{Dialect: e.dialect, TablePrefix: prefix})
			require.NoError(t, err)
			require.NoError(t, s.MigrateTo(ctx, 8))
			_, err = db.Exec("SELECT prev_salt_id FROM " + prefix + "tokens")
			require.Error(t, err, "version 8 has no prev_salt_id column")

			// A token as the release before wrote it, in an overlap.
			clock := apitokentest.NewClock()
			now := clock.Now()
			until := now.Add(time.Hour)
			id, current, previous := uuid.NewString(), apitoken.Hash{7}, apitoken.Hash{8}
			query := strings.ReplaceAll(`INSERT INTO {{p}}tokens (id, name, description, type, key_hash, encrypted_key, salt_id,
				created_at, updated_at, key_hint, prev_key_hash, prev_valid_until)
				VALUES (?, 'old', '', 'read-only', ?, '', 's2', ?, ?, '', ?, ?)`, "{{p}}", prefix)
			if e.dialect == sqlstore.Postgres {
				query = sqlq.Numbered(query)
			}
			_, err = db.Exec(query, id, current.Hex(), sqlstore.TimeArg(e.dialect, now), sqlstore.TimeArg(e.dialect, now),
				previous.Hex(), sqlstore.TimeArg(e.dialect, until))
			require.NoError(t, err)

			require.NoError(t, s.Migrate(ctx))
			got, err := s.GetByHash(ctx, previous)
			require.NoError(t, err, "the previous key still works")
			assert.Equal(t, id, got.ID)
			assert.Empty(t, got.PreviousSaltID, "a salt id nobody kept")
			assert.Equal(t, "s2", got.SaltID)

			const salt = "prevsalt-migration-salt-0123456789"
			r, err := apitoken.CountSalts(ctx, apitoken.Config{Store: s, Salt: salt, Clock: clock})
			require.NoError(t, err)
			assert.Equal(t, map[string]int{"s2": 1}, r.Unknown)
			assert.Equal(t, 1, r.Unidentified, "the previous key's salt cannot be told")
			require.Contains(t, r.Overlaps, "")
			assert.True(t, r.Overlaps[""].Until.Equal(until.Truncate(time.Millisecond)))

			require.NoError(t, s.SetKey(ctx, id, apitoken.NewKey{Hash: apitoken.Hash{9}, SaltID: "s3", UpdatedAt: now,
				PreviousValidUntil: until}))
			got, err = s.Get(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, "s2", got.PreviousSaltID, "a regeneration after the upgrade keeps it")
		})
	}
}
