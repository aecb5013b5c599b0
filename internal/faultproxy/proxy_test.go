package faultproxy

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					c.Write([]byte(line))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn, msg string) (string, error) {
	c.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := c.Write([]byte(msg + "\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return line, err
}

func TestModes(t *testing.T) {
	p, err := New(echoServer(t))
	require.NoError(t, err)
	defer p.Close()

	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	got, err := roundTrip(c, "hello")
	require.NoError(t, err)
	assert.Equal(t, "hello\n", got)

	p.SetMode(Stall)
	var ne net.Error
	_, err = roundTrip(c, "held")
	if assert.ErrorAs(t, err, &ne) {
		assert.True(t, ne.Timeout(), "a stalled connection answers nothing: %v", err)
	}
	p.SetMode(Pass)

	p.Reset()
	_, err = roundTrip(c, "after reset")
	assert.Error(t, err, "a reset connection is dead")

	p.SetMode(Refuse)
	c2, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	_, err = roundTrip(c2, "refused")
	assert.Error(t, err)

	p.SetMode(Pass)
	c3, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	got, err = roundTrip(c3, "back")
	require.NoError(t, err)
	assert.Equal(t, "back\n", got)
}
