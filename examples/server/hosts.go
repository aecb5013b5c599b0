package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// A web page can reach a server on the loopback interface through DNS
// rebinding: its own name, resolved to 127.0.0.1 once the page has loaded,
// makes the browser treat the server as the page's origin, cookies and
// CORS aside. Such requests still name the attacker's host in their Host
// header, so the server answers only the hosts it is told to (-allowed-hosts).

// maxHosts bounds the entries of -allowed-hosts.
const maxHosts = 64

// hostSet is the hosts that requests may name.
type hostSet struct {
	any   bool            // -allowed-hosts '*': no check
	names map[string]bool // normalised: lower case, IP addresses in canonical form
}

// loopbackHosts are allowed by default, with the host of -addr.
var loopbackHosts = []string{"localhost", "127.0.0.1", "::1"}

// parseHosts parses the -allowed-hosts flag: host names and IP addresses
// separated by commas, or * for any host. Empty means the default: the host
// of listenAddr (unless it is an unspecified address such as 0.0.0.0) and
// loopbackHosts.
func parseHosts(value, listenAddr string) (hostSet, error) {
	h := hostSet{names: map[string]bool{}}
	if strings.TrimSpace(value) == "*" {
		return hostSet{any: true}, nil
	}
	if value == "" {
		for _, n := range loopbackHosts {
			h.names[n] = true
		}
		host, _, err := net.SplitHostPort(listenAddr)
		if err != nil || host == "" {
			return h, nil
		}
		if a, err := netip.ParseAddr(host); err == nil && a.IsUnspecified() {
			return h, nil
		}
		if n, err := normalHost(host); err == nil {
			h.names[n] = true
		}
		return h, nil
	}
	entries := strings.Split(value, ",")
	if len(entries) > maxHosts {
		return h, fmt.Errorf("-allowed-hosts: at most %d hosts", maxHosts)
	}
	for _, e := range entries {
		n, err := normalHost(strings.TrimSpace(e))
		if err != nil {
			return h, fmt.Errorf("-allowed-hosts: %q: %w", truncate(e, 80), err)
		}
		h.names[n] = true
	}
	return h, nil
}

// normalHost returns a host name or IP address in the form allows compares:
// lower case, without a final dot, IP addresses without brackets in
// canonical form. It refuses anything else, such as a port or a scheme.
func normalHost(s string) (string, error) {
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return "", errors.New("an IPv6 zone cannot be named in a Host header")
		}
		return a.Unmap().String(), nil
	}
	s = strings.ToLower(strings.TrimSuffix(s, "."))
	switch {
	case s == "":
		return "", errors.New("empty host name")
	case strings.Contains(s, "://"):
		return "", errors.New("a host name, not a URL")
	case strings.Contains(s, ":"):
		return "", errors.New("a host name without a port (the port is not checked)")
	case len(s) > 253:
		return "", errors.New("longer than 253 characters")
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return "", errors.New("each dot-separated part must have 1 to 63 characters")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", errors.New("a part may not start or end with a hyphen")
		}
		for _, c := range []byte(label) {
			if !(isNameStart(c) || isDigit(c) || c == '-') {
				return "", fmt.Errorf("%q is not allowed in a host name (write international names in punycode)", rune(c))
			}
		}
	}
	return s, nil
}

// allows reports whether a request's Host header names an allowed host. The
// port is not checked: a rebinding page cannot choose the port apart from
// its own name.
func (h hostSet) allows(hostHeader string) bool {
	if h.any {
		return true
	}
	host, _, err := net.SplitHostPort(hostHeader)
	if err != nil {
		host = hostHeader
	}
	n, err := normalHost(host)
	return err == nil && h.names[n]
}

// check serves next the requests for allowed hosts, and answers the others
// 421 Misdirected Request.
func (h hostSet) check(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.allows(r.Host) {
			log.WarnContext(r.Context(), "refused a request for another host", "host", truncate(r.Host, 100), "remote", r.RemoteAddr)
			writeError(w, http.StatusMisdirectedRequest, errorName(http.StatusMisdirectedRequest),
				"This server does not answer for that host: start it with -allowed-hosts to add it")
			return
		}
		next.ServeHTTP(w, r)
	})
}
