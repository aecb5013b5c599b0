package leak

import (
	"time"

	"golang.org/x/time/rate"
)

// take spends one of client's reports at now, and returns 0, or how long
// to wait when it has none left.
func (h *Revoke) take(client string, now time.Time) (wait time.Duration) {
	h.limits.Do(client, now, func(l *rate.Limiter) {
		res := l.ReserveN(now, 1)
		if wait = res.DelayFrom(now); wait > 0 {
			res.CancelAt(now) // a refused report costs nothing more
		}
	})
	return wait
}
