package cache

import (
	"time"

	"github.com/go-apitoken/apitoken"
)

// unknownSet holds hashes the store did not find, each with its expiry, in at
// most max entries and in memory bounded by construction.
//
// A single map that deletes a random entry for each insert once full keeps
// growing under a flood of distinct keys (a soak with 10,000 entries grew
// from 2 to 5 MB): deleted slots are not reused as fast as they appear. So
// new entries go to cur until it holds half of max; then cur becomes old and
// the former old, cleared, becomes cur. Each map only ever holds up to its
// half, and clear resets its slots. Eviction is by age, a half at a time.
type unknownSet struct {
	cur, old map[apitoken.Hash]time.Duration
	half     int // entries cur takes before it becomes old
	max      int
}

func newUnknownSet(limit int) unknownSet {
	half := max(1, limit/2)
	return unknownSet{
		cur:  make(map[apitoken.Hash]time.Duration, half),
		old:  make(map[apitoken.Hash]time.Duration, half),
		half: half,
		max:  limit,
	}
}

// get returns h's expiry.
func (u *unknownSet) get(h apitoken.Hash) (exp time.Duration, ok bool) {
	if exp, ok = u.cur[h]; ok {
		return exp, true
	}
	exp, ok = u.old[h]
	return exp, ok
}

// put records h as unknown until exp.
func (u *unknownSet) put(h apitoken.Hash, exp time.Duration) {
	if _, ok := u.cur[h]; !ok {
		delete(u.old, h)
		if len(u.cur) >= u.half {
			u.cur, u.old = u.old, u.cur
			clear(u.cur)
		}
		if len(u.cur)+len(u.old) >= u.max { // only when max is 1
			for k := range u.old {
				delete(u.old, k)
				break
			}
		}
	}
	u.cur[h] = exp
}

func (u *unknownSet) delete(h apitoken.Hash) {
	delete(u.cur, h)
	delete(u.old, h)
}

func (u *unknownSet) len() int { return len(u.cur) + len(u.old) }

// clear forgets every hash.
func (u *unknownSet) clear() {
	clear(u.cur)
	clear(u.old)
}
