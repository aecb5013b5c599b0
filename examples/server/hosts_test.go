package main

import (
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseHosts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value, addr string
		want        []string // nil: any host
	}{
		{"", "127.0.0.1:1337", []string{"127.0.0.1", "::1", "localhost"}},
		{"", "demo.local:1337", []string{"127.0.0.1", "::1", "demo.local", "localhost"}},
		{"", "[::1]:1337", []string{"127.0.0.1", "::1", "localhost"}},
		{"", "192.0.2.7:80", []string{"127.0.0.1", "192.0.2.7", "::1", "localhost"}},
		{"", ":1337", []string{"127.0.0.1", "::1", "localhost"}},
		{"", "0.0.0.0:1337", []string{"127.0.0.1", "::1", "localhost"}},
		{"", "[::]:1337", []string{"127.0.0.1", "::1", "localhost"}},
		{"API.Example.com., 10.0.0.2,[2001:db8::1]", "127.0.0.1:1337", []string{"10.0.0.2", "2001:db8::1", "api.example.com"}},
		{"my_service,localhost", ":1337", []string{"localhost", "my_service"}},
		{"*", ":1337", nil},
	}
	for _, tt := range tests {
		h, err := parseHosts(tt.value, tt.addr)
		if !assert.NoError(t, err, "%q %q", tt.value, tt.addr) {
			continue
		}
		if tt.want == nil {
			assert.True(t, h.any, "%q", tt.value)
			continue
		}
		got := make([]string, 0, len(h.names))
		for n := range h.names {
			got = append(got, n)
		}
		slices.Sort(got)
		assert.Equal(t, tt.want, got, "%q %q", tt.value, tt.addr)
	}

	for _, bad := range []string{
		",", "a,,b", " ", "http://example.com", "example.com:80", "example.com/x", "exa mple.com", "-example.com",
		"example-.com", "example..com", ".example.com", "*.example.com", "bücher.de", "a\x00b", "a\nb", "[::1", "fe80::1%eth0",
		strings.Repeat("a", 64) + ".com", strings.Repeat("abcdefghi.", 26) + "com", "*,example.com",
		strings.Repeat("h,", 64) + "h",
	} {
		_, err := parseHosts(bad, "127.0.0.1:1337")
		assert.Error(t, err, "%.80q accepted", bad)
	}
}

func TestHostCheck(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "hosts.db"), map[string]string{"ADMIN_EMAIL": adminEmail, "ADMIN_PASSWORD": adminPassword})
	port := s.url[strings.LastIndexByte(s.url, ':'):]
	for _, host := range []string{"127.0.0.1" + port, "localhost" + port, "LOCALHOST.", "[::1]" + port, "[0:0:0:0:0:0:0:1]", "127.0.0.1"} {
		r := s.do(t, "GET", "/api/public/articles", "", "Host: "+host)
		assert.Equal(t, http.StatusOK, r.status, "Host %s", host)
	}
	// A DNS-rebinding page reaches the server under its own name.
	for _, host := range []string{"rebind.attacker.example" + port, "localhost.attacker.example", "127.0.0.1.nip.io" + port, "[::2]" + port} {
		for _, path := range []string{"/admin/login", "/api/public/articles"} {
			r := s.do(t, "POST", path, "email=a&password=b", "Host: "+host, "Content-Type: application/x-www-form-urlencoded")
			assert.Equal(t, http.StatusMisdirectedRequest, r.status, "Host %s", host)
			v := r.json(t)
			require.NotNil(t, v["error"], "%s", r.body)
			assert.Equal(t, "MisdirectedRequestError", v["error"].(map[string]any)["name"])
		}
	}
}

// TestHostFlag starts the server with -allowed-hosts through run.
func TestHostFlag(t *testing.T) {
	t.Parallel()
	var out, errb strings.Builder
	env := func(string) string { return "" }
	err := run(t.Context(), []string{"-allowed-hosts", "example.com:8080"}, env, &out, &errb)
	assert.ErrorContains(t, err, "-allowed-hosts")
	assert.ErrorContains(t, err, "port")
}
