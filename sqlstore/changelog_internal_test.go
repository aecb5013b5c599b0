package sqlstore

import (
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChangeLogGaps drives a watch's position through gaps by hand.
func TestChangeLogGaps(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	l := &changeLog{low: 10, max: 10, gapTimeout: time.Second, seen: map[int64]struct{}{}, lateSeen: map[int64]struct{}{}}
	tok := sql.NullString{String: "t", Valid: true}
	take := func(seq int64) bool {
		fresh, reset := l.take(seq, tok)
		require.False(t, reset)
		return fresh
	}

	assert.True(t, take(11))
	assert.True(t, take(13))
	assert.False(t, take(13), "a seq is reported once")
	l.advance(t0)
	assert.Equal(t, int64(11), l.low, "12 is missing")

	l.advance(t0.Add(time.Second / 2))
	assert.Equal(t, int64(11), l.low, "and waited for")
	assert.True(t, take(12), "12 commits")
	l.advance(t0.Add(time.Second / 2))
	assert.Equal(t, int64(13), l.low)
	assert.Empty(t, l.seen)

	assert.True(t, take(16))
	l.advance(t0.Add(2 * time.Second))
	assert.True(t, take(18))
	l.advance(t0.Add(2*time.Second + time.Second/2))
	assert.Equal(t, int64(13), l.low)
	l.advance(t0.Add(3 * time.Second))
	assert.Equal(t, int64(16), l.low, "14 and 15 are given up on; 17 was missed later")
	assert.Len(t, l.late, 1, "one run: 14 and 15")
	assert.True(t, take(15), "15 commits late, and is reported")
	assert.False(t, take(15))
	l.advance(t0.Add(3*time.Second + time.Second/2))
	assert.Equal(t, int64(18), l.low)

	assert.True(t, l.advance(t0.Add(2*time.Hour)), "14 and 17 were never seen: they may still commit, so a Reset")
	assert.Empty(t, l.late, "given up on for good")
	assert.False(t, take(14))

	assert.True(t, take(2_000_018), "a jump of the sequence")
	l.advance(t0.Add(2 * time.Hour))
	assert.False(t, l.advance(t0.Add(2*time.Hour+time.Second)), "one run given up on")
	assert.Equal(t, int64(2_000_018), l.low)
	assert.Empty(t, l.noticed)
	assert.True(t, take(1_500_000), "a late commit anywhere in the jump is reported")
	assert.False(t, take(1_500_000))
	assert.True(t, take(19))

	// A run whose seqs were all seen ends without a Reset.
	r := &changeLog{low: 0, max: 0, gapTimeout: time.Second, seen: map[int64]struct{}{}, lateSeen: map[int64]struct{}{}}
	fresh, _ := r.take(2, tok)
	require.True(t, fresh)
	r.advance(t0)
	assert.False(t, r.advance(t0.Add(time.Second)), "1 given up on")
	fresh, _ = r.take(1, tok)
	assert.True(t, fresh, "1 commits late")
	assert.False(t, r.advance(t0.Add(2*time.Hour)), "every seq of the run was seen")

	fresh, reset := l.take(2_000_030, sql.NullString{})
	assert.False(t, fresh)
	assert.True(t, reset, "the mark where pruning cut the log")
	assert.Equal(t, int64(2_000_030), l.low)
}

// TestChangeLogLateOverflow: a watch that would have to look for more runs
// of missing seqs than it can says so, and its caller reports a Reset, rather
// than forget some of them and miss their changes.
func TestChangeLogLateOverflow(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	l := &changeLog{gapTimeout: time.Second, seen: map[int64]struct{}{}, lateSeen: map[int64]struct{}{}}
	tok := sql.NullString{String: "t", Valid: true}
	for seq := int64(2); seq <= 2*(lateCap+1); seq += 2 {
		fresh, _ := l.take(seq, tok)
		require.True(t, fresh)
	}
	l.advance(t0)
	assert.True(t, l.advance(t0.Add(time.Second)), "lateCap+1 runs: too many to look for")
	assert.Equal(t, int64(2*(lateCap+1)), l.low)
	assert.LessOrEqual(t, len(l.late), lateCap)
	assert.False(t, l.advance(t0.Add(2*time.Second)), "said once")

	query, args := l.pollQuery(SQLite, "SELECT seq FROM changes WHERE seq > ? AND (seq > ?", 7)
	assert.Contains(t, query, "BETWEEN")
	assert.Len(t, args, 2+2*len(l.late), "the cursor, low, and each run's bounds")
}

func TestSplitStatements(t *testing.T) {
	file := `-- a comment; with a semicolon
CREATE TABLE a (x int);
CREATE TABLE b (y int)
;
-- +StatementBegin
CREATE TRIGGER t AFTER INSERT ON a BEGIN
    INSERT INTO b VALUES (1);
END;
-- +StatementEnd
DROP TABLE c;
`
	got, err := splitStatements(file)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"CREATE TABLE a (x int)",
		"CREATE TABLE b (y int)",
		"CREATE TRIGGER t AFTER INSERT ON a BEGIN\n    INSERT INTO b VALUES (1);\nEND",
		"DROP TABLE c",
	}, got)

	for _, bad := range []string{"-- +StatementBegin\nx;", "x;\n-- +StatementEnd\n", "-- +StatementBegin\n-- +StatementBegin\n"} {
		_, err := splitStatements(bad)
		assert.Error(t, err, bad)
	}
}
