package sqlstore

import "strings"

// queries holds the store's SQL, built once per Store with its table names
// and the dialect's placeholders.
type queries struct {
	getByHash   string
	getByID     string
	list        string
	insertToken string
	updateToken string
	lockToken   string
	exists      string
	deleteToken string
	deletePerms string
	setKey      string
	setKeyKeep  string
	moveKey     string
	touch       string
	spendQuota  string
	quotaLeft   string
	keyHash     string
	claimNotice string
	takeRate    string
	pruneRates  string
}

// tokenColumns are the columns reader.token reads, in order, followed by
// the previous key's deadline when the row was found by the previous key,
// and a permission. The prev_valid_until among them is
// Token.PreviousKeyExpiresAt, and prev_salt_id Token.PreviousSaltID.
const tokenColumns = `t.id, t.name, t.description, t.type, t.lifespan_ms, t.expires_at, t.last_used_at,
	t.created_at, t.updated_at, t.encrypted_key, t.salt_id, t.key_hint, t.prev_valid_until, t.prev_salt_id, t.policy,
	t.quota_limit, t.quota_remaining, t.quota_refilled_at, t.kind, t.owner`

func buildQueries(d Dialect, prefix string) queries {
	r := strings.NewReplacer("{{tokens}}", prefix+"tokens", "{{permissions}}", prefix+"permissions", "{{notices}}", prefix+"notices",
		"{{rates}}", prefix+"rates")
	q := func(s string) string { return rebind(d, r.Replace(s)) }
	// A token comes back as one row per permission (or one row with a NULL
	// permission): one round trip, on every engine. Aggregating in SQL
	// would save rows but not trips, and MySQL's GROUP_CONCAT and MariaDB's
	// JSON_ARRAYAGG silently truncate at group_concat_max_len.
	from := ` FROM {{tokens}} t LEFT JOIN {{permissions}} p ON p.token_id = t.id`
	return queries{
		// Two branches, each an equality on its own unique index, rather
		// than an OR that a planner might answer with a scan.
		getByHash: q(`SELECT ` + tokenColumns + `, NULL, p.action` + from + ` WHERE t.key_hash = ?
			UNION ALL SELECT ` + tokenColumns + `, t.prev_valid_until, p.action` + from + ` WHERE t.prev_key_hash = ?`),
		getByID: q(`SELECT ` + tokenColumns + `, NULL, p.action` + from + ` WHERE t.id = ?`),
		list:    q(`SELECT ` + tokenColumns + `, NULL, p.action` + from + ` ORDER BY t.name, t.id`),
		insertToken: q(`INSERT INTO {{tokens}} (id, name, description, type, key_hash, encrypted_key, salt_id,
			lifespan_ms, expires_at, last_used_at, created_at, updated_at, key_hint, kind, owner, policy, quota_limit,
			quota_remaining, quota_refilled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		// Neither kind nor owner: Update leaves them alone.
		updateToken: q(`UPDATE {{tokens}} SET name = ?, description = ?, type = ?, lifespan_ms = ?, expires_at = ?,
			updated_at = ?, policy = ?, quota_limit = ?, quota_remaining = ?, quota_refilled_at = ? WHERE id = ?`),
		lockToken:   lockToken(d, q),
		exists:      q(`SELECT 1 FROM {{tokens}} WHERE id = ?`),
		deleteToken: q(`DELETE FROM {{tokens}} WHERE id = ?`),
		deletePerms: q(`DELETE FROM {{permissions}} WHERE token_id = ?`),
		setKey: q(`UPDATE {{tokens}} SET key_hash = ?, encrypted_key = ?, salt_id = ?, updated_at = ?,
			prev_key_hash = NULL, prev_valid_until = NULL, prev_salt_id = NULL, key_hint = ? WHERE id = ?`),
		// MySQL assigns left to right, seeing earlier assignments; other
		// engines see the old row throughout. Copying key_hash and
		// salt_id before overwriting them is right under both rules.
		setKeyKeep: q(`UPDATE {{tokens}} SET prev_key_hash = key_hash, prev_salt_id = salt_id, prev_valid_until = ?,
			key_hash = ?, encrypted_key = ?, salt_id = ?, updated_at = ?, key_hint = ? WHERE id = ?`),
		moveKey: q(`UPDATE {{tokens}} SET key_hash = ?, salt_id = ? WHERE id = ? AND key_hash = ?`),
		touch: q(`UPDATE {{tokens}} SET last_used_at = ?
			WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`),
		spendQuota:  spendQuota(d, q),
		quotaLeft:   q(`SELECT quota_remaining FROM {{tokens}} WHERE id = ?`),
		keyHash:     q(`SELECT key_hash FROM {{tokens}} WHERE id = ?`),
		claimNotice: claimNotice(d, q),
		takeRate:    takeRate(d, q),
		pruneRates:  q(`DELETE FROM {{rates}} WHERE window_end < ?`),
	}
}

// insertPerms returns an INSERT of n permission rows.
func insertPerms(d Dialect, table string, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (token_id, action) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?)")
	}
	return rebind(d, b.String())
}

// lockToken is the statement of Store.lock.
func lockToken(d Dialect, q func(string) string) string {
	if d == SQLite {
		return q(`UPDATE {{tokens}} SET id = id WHERE id = ?`)
	}
	return q(`SELECT 1 FROM {{tokens}} WHERE id = ? FOR UPDATE`)
}
