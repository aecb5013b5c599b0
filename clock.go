package apitoken

import (
	"sync/atomic"
	"time"
)

// reanchorAfter is how long the clock counts on the monotonic clock alone
// before it reads the wall clock again: the longest that a step of the
// system clock (NTP, a resumed VM) goes unnoticed.
const reanchorAfter = time.Second

// Clock is the one source of time of a Service and of a cache: Now tells the
// time; After waits, as time.After does, for the background writer of
// lastUsedAt. apitokentest.Clock is one that tests move by hand, so that
// they drive time instead of sleeping.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// clock is the default Clock. It tells the wall time from one monotonic clock read, by adding the
// time elapsed since an anchor taken with time.Now, which reads two clocks.
// On VMs a clock read is tens of nanoseconds, a tenth of a remembered key's
// verification.
type clock struct {
	anchor atomic.Pointer[time.Time]
}

func newClock() *clock {
	c := new(clock)
	now := time.Now()
	c.anchor.Store(&now)
	return c
}

// After is time.After.
func (c *clock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Now returns the wall time.
func (c *clock) Now() time.Time {
	a := c.anchor.Load()
	if d := time.Since(*a); d < reanchorAfter {
		return a.Add(d)
	}
	now := time.Now()
	c.anchor.Store(&now)
	return now
}
