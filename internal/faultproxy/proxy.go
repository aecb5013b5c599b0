// Package faultproxy is a TCP proxy that tests put between the library and a
// real database to cut, stall and reset its connections on command.
package faultproxy

import (
	"net"
	"sync"
)

// Mode is what the proxy does with traffic.
type Mode int

const (
	// Pass forwards traffic both ways.
	Pass Mode = iota
	// Stall accepts connections and holds them, forwarding nothing, as a
	// hung database or a black-holed network does.
	Stall
	// Refuse closes new connections at once, as a database that is down.
	Refuse
)

// Proxy forwards connections from its listener on loopback to a target.
type Proxy struct {
	target string
	ln     net.Listener

	mu    sync.Mutex
	mode  Mode
	conns map[net.Conn]struct{}
	wake  chan struct{} // closed when the mode leaves Stall
	wg    sync.WaitGroup
}

// New starts a proxy on 127.0.0.1 to target (host:port).
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, ln: ln, conns: make(map[net.Conn]struct{}), wake: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr returns the proxy's address, to use in place of the target's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetMode changes what the proxy does with new traffic. Stall also holds
// traffic on open connections.
func (p *Proxy) SetMode(m Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == Stall && m != Stall {
		close(p.wake)
		p.wake = make(chan struct{})
	}
	p.mode = m
}

// Reset aborts every open connection with a TCP reset.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.SetMode(Refuse)
	p.Reset()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		if mode == Refuse {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	defer p.forget(client)
	if !p.waitPass() {
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	p.track(server)
	defer p.forget(server)
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, client); done <- struct{}{} }()
	go func() { p.pipe(client, server); done <- struct{}{} }()
	<-done
}

// pipe copies src to dst, holding data while the proxy stalls.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitPass() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// waitPass blocks while the proxy stalls; it reports false when the proxy
// refuses traffic.
func (p *Proxy) waitPass() bool {
	for {
		p.mu.Lock()
		mode, wake := p.mode, p.wake
		p.mu.Unlock()
		switch mode {
		case Pass:
			return true
		case Refuse:
			return false
		}
		<-wake
	}
}

func (p *Proxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns[c] = struct{}{}
	p.mu.Unlock()
}

func (p *Proxy) forget(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}
