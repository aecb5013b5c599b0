package main

import (
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// What GraphQL queries may hold while they run and while their answers
// are written. A query holds one of maxConcurrentQueries slots while it
// runs; its answer's memory, reserved at maxResponseBytes before it runs
// and cut to its size after, is held until written, from a pool of
// maxAnswerBytes. A client that stops reading keeps its answer for at most
// answerWriteTimeout, and one client (an address, an IPv6 /64) may have
// maxQueriesPerClient queries in the handler at once, so that no one client
// can take the whole pool. Slots held until the answer was written let
// two connections that stopped reading keep every other client waiting.
const (
	maxAnswerBytes      = 16 * maxResponseBytes
	answerWriteTimeout  = 10 * time.Second
	maxQueriesPerClient = 4
)

// admission holds the slots, the answer pool and the clients' counts. It is
// safe for concurrent use.
type admission struct {
	slots   chan struct{}
	answers *semaphore.Weighted

	mu      sync.Mutex
	clients map[string]int
}

func newAdmission() *admission {
	return &admission{
		slots:   make(chan struct{}, maxConcurrentQueries),
		answers: semaphore.NewWeighted(maxAnswerBytes),
		clients: map[string]int{},
	}
}

// enter counts a query of client in, and returns leave to count it out;
// or false when the client has maxQueriesPerClient in already.
func (a *admission) enter(client string) (leave func(), ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.clients[client] >= maxQueriesPerClient {
		return nil, false
	}
	a.clients[client]++
	return func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.clients[client]--; a.clients[client] == 0 {
			delete(a.clients, client)
		}
	}, true
}
