package leak_test

import (
	"log"
	"net/http"
	"os"

	"github.com/go-apitoken/apitoken"
	"github.com/go-apitoken/apitoken/leak"
	"github.com/go-apitoken/apitoken/memstore"
)

// ExampleNewGitHub mounts both handlers: GitHub's signed reports, with the
// key set saved from https://api.github.com/meta/public_keys/secret_scanning,
// and the public form for anyone who finds a key. Reported tokens are
// disabled rather than deleted.
func ExampleNewGitHub() {
	svc, err := apitoken.New(apitoken.Config{Store: memstore.New(), KeyFormat: apitoken.PrefixedKeys})
	if err != nil {
		log.Fatal(err)
	}
	keys, err := os.ReadFile("github-secret-scanning-keys.json")
	if err != nil {
		log.Fatal(err)
	}
	github, err := leak.NewGitHub(leak.GitHubConfig{Service: svc, KeysJSON: keys, Disable: true})
	if err != nil {
		log.Fatal(err)
	}
	revoke, err := leak.NewRevoke(leak.RevokeConfig{Service: svc, Disable: true})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /secret-scanning/github", github)
	mux.Handle("POST /api/revoke-leaked-key", revoke)
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", mux))
}
