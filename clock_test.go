package apitoken

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestClock(t *testing.T) {
	c := newClock()
	before := time.Now()
	got := c.Now()
	after := time.Now()
	assert.False(t, got.Before(before) || got.After(after), "%v not within [%v, %v]", got, before, after)

	// An anchor from the past, as after the wall clock stepped or the
	// machine slept: the clock takes a new one instead of adding up.
	old := time.Now().Add(-time.Hour)
	c.anchor.Store(&old)
	got = c.Now()
	assert.WithinDuration(t, time.Now(), got, time.Second)
	assert.NotSame(t, &old, c.anchor.Load(), "re-anchored")
}

func BenchmarkClock(b *testing.B) {
	b.Run("time.Now", func(b *testing.B) {
		for b.Loop() {
			_ = time.Now()
		}
	})
	b.Run("clock", func(b *testing.B) {
		c := newClock()
		for b.Loop() {
			_ = c.Now()
		}
	})
}
