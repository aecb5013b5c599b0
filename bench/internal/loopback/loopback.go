// Package loopback keeps the bench commands on this machine: they accept
// only URLs whose host is a loopback address or localhost.
package loopback

import (
	"fmt"
	"net"
	"net/url"
)

// Parse parses raw and refuses it unless its host is localhost or a
// loopback address.
func Parse(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if h := u.Hostname(); h != "localhost" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("refusing %q: only loopback addresses and localhost may be targeted", u.Host)
		}
	}
	return u, nil
}
