// Package strapitest makes Strapi's API token tables for tests, column for
// column as Strapi's database layer makes them, so that the tests of
// strapistore and of the CLI run against the schema Strapi itself creates.
package strapitest

import (
	"strings"

	"github.com/go-apitoken/apitoken/sqlstore"
)

// DDL returns the statements that create Strapi v4's (or v5's) api token tables,
// column for column as Strapi's database layer makes them (see
// strapistore/README.md's sources): three tables, the link table's foreign keys with ON
// DELETE CASCADE and unique pair index, and for v5 the documents index. The
// v5 tables are the newest: with encrypted_key, kind (admin tokens share
// the table) and owner_id (the admin user an admin token acts for, in the
// form strapistore assumes: a column like created_by_id); v4 has none of
// them.
// The created_by_id / updated_by_id foreign keys to admin_users are left out:
// there is no admin_users table here, and the store does not touch them.
func DDL(d sqlstore.Dialect, v5 bool, prefix string) []string {
	types := map[string]map[sqlstore.Dialect]string{
		"pk":     {sqlstore.SQLite: "integer not null primary key autoincrement", sqlstore.Postgres: "serial PRIMARY KEY", sqlstore.MySQL: "int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY"},
		"str":    {sqlstore.SQLite: "varchar(255) null", sqlstore.Postgres: "varchar(255)", sqlstore.MySQL: "varchar(255) DEFAULT NULL"},
		"text":   {sqlstore.SQLite: "text null", sqlstore.Postgres: "text", sqlstore.MySQL: "longtext"},
		"time":   {sqlstore.SQLite: "datetime null", sqlstore.Postgres: "timestamp(6) without time zone", sqlstore.MySQL: "datetime(6) DEFAULT NULL"},
		"bigint": {sqlstore.SQLite: "bigint null", sqlstore.Postgres: "bigint", sqlstore.MySQL: "bigint DEFAULT NULL"},
		"int":    {sqlstore.SQLite: "integer null", sqlstore.Postgres: "integer", sqlstore.MySQL: "int unsigned DEFAULT NULL"},
		"float":  {sqlstore.SQLite: "float null", sqlstore.Postgres: "double precision", sqlstore.MySQL: "double unsigned DEFAULT NULL"},
	}
	table := func(name string, cols ...string) string {
		var defs []string
		for _, c := range cols {
			if c == "" {
				continue
			}
			col, typ, _ := strings.Cut(c, " ")
			if t, ok := types[typ]; ok {
				typ = t[d]
			}
			defs = append(defs, col+" "+typ)
		}
		return "CREATE TABLE " + prefix + name + " (" + strings.Join(defs, ", ") + ")"
	}
	only5 := func(c string) string {
		if v5 {
			return c
		}
		return ""
	}
	tokens := table("api_tokens", "id pk", only5("document_id str"), "name str", "description str", "type str", "access_key str",
		only5("encrypted_key text"), only5("kind str"), only5("owner_id int"), "last_used_at time", "expires_at time", "lifespan bigint", "created_at time", "updated_at time",
		only5("published_at time"), "created_by_id int", "updated_by_id int", only5("locale str"))
	perms := table("api_token_permissions", "id pk", only5("document_id str"), "action str", "created_at time", "updated_at time",
		only5("published_at time"), "created_by_id int", "updated_by_id int", only5("locale str"))
	link, order, fk, ifk, uq := "api_token_permissions_token_links", "api_token_permission_order", "_fk", "_inv_fk", "_unique"
	if v5 {
		link, order, fk, ifk, uq = "api_token_permissions_token_lnk", "api_token_permission_ord", "_fk", "_ifk", "_uq"
	}
	links := table(link, "id pk", "api_token_permission_id int", "api_token_id int", order+" float",
		"CONSTRAINT strapi_"+link+fk+" FOREIGN KEY (api_token_permission_id) REFERENCES "+prefix+"api_token_permissions (id) ON DELETE CASCADE",
		"CONSTRAINT strapi_"+link+ifk+" FOREIGN KEY (api_token_id) REFERENCES "+prefix+"api_tokens (id) ON DELETE CASCADE")
	stmts := []string{tokens, perms, links,
		"CREATE UNIQUE INDEX strapi_" + link + uq + " ON " + prefix + link + " (api_token_permission_id, api_token_id)"}
	if v5 {
		stmts = append(stmts,
			"CREATE INDEX strapi_api_tokens_documents_idx ON "+prefix+"api_tokens (document_id, locale, published_at)",
			"CREATE INDEX strapi_api_token_permissions_documents_idx ON "+prefix+"api_token_permissions (document_id, locale, published_at)")
	}
	return stmts
}
