package strapistore

import (
	"strings"

	"github.com/go-apitoken/apitoken/internal/sqlq"
)

// queries holds the statements that do not vary per call, in the dialect's
// placeholder style.
type queries struct {
	byID, byHash, all      string // token rows joined to their permissions
	names                  string // ids and names of the tokens with a name
	exists                 string // whether an id exists (locked for update where the engine can)
	perms                  string // a token's permissions: id, action, order
	deletePerm, deleteLink string // by permission id
	deleteLinks            string // by token id
	deleteToken            string
	update                 string
	setKey                 string
	moveKey                string
	touch                  string
}

func (s *Store) buildQueries() queries {
	enc := "NULL"
	if s.encrypted {
		enc = "t.encrypted_key"
	}
	order := "l.id"
	if s.orderCol != "" {
		order = "l." + s.orderCol + ", l.id"
	}
	kindCol, ownerCol := "NULL", "NULL"
	if s.kind {
		kindCol = "t.kind"
	}
	if s.owner {
		ownerCol = "t.owner_id"
	}
	sel := "SELECT t.id, t.name, t.description, t.type, t.access_key, " + enc + ", t.lifespan, t.expires_at, t.last_used_at, t.created_at, t.updated_at, " +
		kindCol + ", " + ownerCol + ", p.action" +
		" FROM " + s.tokens + " t" +
		" LEFT JOIN " + s.links + " l ON l.api_token_id = t.id" +
		" LEFT JOIN " + s.perms + " p ON p.id = l.api_token_permission_id"
	forUpdate := " FOR UPDATE"
	if s.dialect == SQLite {
		forUpdate = "" // the transaction holds the database's write lock
	}
	ord := "NULL"
	if s.orderCol != "" {
		ord = "l." + s.orderCol
	}
	setEnc := ""
	if s.encrypted {
		setEnc = ", encrypted_key = ?"
	}
	known, tknown := s.knownKinds()
	// Every query is written with ? and rebound here, as it is built.
	r := s.rebind
	return queries{
		byID:   r(sel + " WHERE t.id = ?" + tknown + " ORDER BY t.id, " + order),
		byHash: r(sel + " WHERE t.access_key = ?" + tknown + " ORDER BY t.id, " + order),
		all:    r(sel + " WHERE 1 = 1" + tknown + " ORDER BY t.id, " + order),
		names:  r("SELECT id, name FROM " + s.tokens + " WHERE name = ?"),
		exists: r("SELECT id FROM " + s.tokens + " WHERE id = ?" + known + forUpdate),
		perms: r("SELECT p.id, p.action, " + ord + " FROM " + s.links + " l JOIN " + s.perms + " p ON p.id = l.api_token_permission_id" +
			" WHERE l.api_token_id = ? ORDER BY " + order),
		deletePerm:  r("DELETE FROM " + s.perms + " WHERE id = ?"),
		deleteLink:  r("DELETE FROM " + s.links + " WHERE api_token_permission_id = ?"),
		deleteLinks: r("DELETE FROM " + s.links + " WHERE api_token_id = ?"),
		deleteToken: r("DELETE FROM " + s.tokens + " WHERE id = ?" + known),
		// Neither kind nor owner_id: Update leaves them alone.
		update: r("UPDATE " + s.tokens + " SET name = ?, description = ?, type = ?, lifespan = ?, expires_at = ?, updated_at = ?" +
			" WHERE id = ?" + known),
		setKey:  r("UPDATE " + s.tokens + " SET access_key = ?" + setEnc + ", updated_at = ? WHERE id = ?" + known),
		moveKey: r("UPDATE " + s.tokens + " SET access_key = ? WHERE id = ? AND access_key = ?" + known),
		touch: r("UPDATE " + s.tokens + " SET last_used_at = ?" +
			" WHERE id = ?" + known + " AND (last_used_at IS NULL OR last_used_at <= ?)"),
	}
}

// knownKinds returns the conditions, on the tokens table bare and as t,
// that keep a query to the rows of the kinds the store knows: later Strapi
// 5 releases keep admin tokens in the same table, and kind NULL (rows from
// before the column) or "content-api" is a content-API token, "admin" an
// admin token. A row of any other kind, which authenticates nowhere in
// Strapi, is left alone, compared exactly: MySQL's default collations
// would take "ADMIN" or "admin " for "admin". Without the column, every
// row is a content-API token. Names are unique across kinds all the same.
func (s *Store) knownKinds() (bare, t string) {
	if !s.kind {
		return "", ""
	}
	cond := func(col string) string {
		if s.dialect == MySQL {
			col = "CAST(" + col + " AS BINARY)"
		}
		return " AND (" + col + " IS NULL OR " + col + " IN ('content-api', 'admin'))"
	}
	return cond("kind"), cond("t.kind")
}

// insert returns an INSERT of cols into table, in the dialect's placeholder
// style.
func (s *Store) insert(table string, cols []string) string {
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
	return s.rebind("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" + marks + ")")
}

// rebind turns the ? placeholders of query into $1, $2, … for PostgreSQL.
func (s *Store) rebind(query string) string {
	if s.dialect != Postgres {
		return query
	}
	return sqlq.Numbered(query)
}
