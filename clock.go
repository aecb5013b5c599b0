package apitoken

import (
	"sync/atomic"
	"time"
)

// reanchorAfter is how long the clock counts on the monotonic clock alone
// before it reads the wall clock again: the longest that a step of the
// system clock (NTP, a resumed VM) goes unnoticed.
const reanchorAfter = time.Second

// clock tells the wall time from one monotonic clock read, by adding the
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

func (c *clock) now() time.Time {
	a := c.anchor.Load()
	if d := time.Since(*a); d < reanchorAfter {
		return a.Add(d)
	}
	now := time.Now()
	c.anchor.Store(&now)
	return now
}
