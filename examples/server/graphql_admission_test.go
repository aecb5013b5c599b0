package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAdmissionPerClient: one client has at most maxQueriesPerClient
// queries in at once, so that it cannot take the whole answer pool; others
// are not counted with it, and leaving lets it in again.
func TestAdmissionPerClient(t *testing.T) {
	t.Parallel()
	a := newAdmission()
	var leaves []func()
	for i := range maxQueriesPerClient {
		leave, ok := a.enter("192.0.2.1")
		require.True(t, ok, "query %d", i+1)
		leaves = append(leaves, leave)
	}
	_, ok := a.enter("192.0.2.1")
	assert.False(t, ok, "one past the limit")
	leave, ok := a.enter("2001:db8::/64")
	assert.True(t, ok, "another client")
	leave()
	leaves[0]()
	leave, ok = a.enter("192.0.2.1")
	assert.True(t, ok, "in again after one left")
	leave()
	for _, l := range leaves[1:] {
		l()
	}
	assert.Empty(t, a.clients, "clients with nothing in are forgotten")
	assert.True(t, a.answers.TryAcquire(maxAnswerBytes), "the pool is whole")
}
