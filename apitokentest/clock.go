package apitokentest

import (
	"sync"
	"time"
)

// Clock is an apitoken.Clock that moves only when the test moves it, for
// apitoken.Config.Clock and cache.Options.Clock. It is safe for concurrent
// use.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []timer
	changed *sync.Cond
}

type timer struct {
	at time.Time
	c  chan time.Time
}

// NewClock returns a Clock set to 2026-01-02 03:04:05 UTC, so that what a
// test sees is the same from run to run.
func NewClock() *Clock { return NewClockAt(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }

// NewClockAt returns a Clock set to t.
func NewClockAt(t time.Time) *Clock {
	c := &Clock{now: t}
	c.changed = sync.NewCond(&c.mu)
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the clock's time once Add has moved
// it d or more past now.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, timer{c.now.Add(d), ch})
	c.changed.Broadcast()
	return ch
}

// Add moves the clock forward by d, and fires the timers that are due.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	waiting := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			waiting = append(waiting, t)
			continue
		}
		t.c <- c.now
	}
	clear(c.timers[len(waiting):])
	c.timers = waiting
	c.changed.Broadcast()
}

// WaitForTimers blocks until at least n calls of After wait for the clock
// to move, such as a background writer's wait; then an Add is sure to reach
// them. It is how a test knows, without sleeping, that a goroutine got there.
func (c *Clock) WaitForTimers(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.timers) < n {
		c.changed.Wait()
	}
}
