package main

import (
	"fmt"
	"io"
	"os"

	"github.com/go-apitoken/apitoken/leak"
)

// githubKeysEnv names the file of GitHub's secret scanning keys when
// -github-keys is not given.
const githubKeysEnv = "GITHUB_SECRET_SCANNING_KEYS"

// leakRoutes builds the handlers of leaked keys: POST
// /api/revoke-leaked-key for anyone who finds a key, always on, and POST
// /secret-scanning/github for GitHub's secret scanning partner program when
// a key file is configured. Both delete the token of a reported key.
func (a *app) leakRoutes(cfg config) error {
	var err error
	if a.leaks, err = leak.NewRevoke(leak.RevokeConfig{Service: a.svc, Logger: a.log}); err != nil {
		return err
	}
	if cfg.githubKeys == "" {
		return nil
	}
	data, err := readKeyFile(cfg.githubKeys)
	if err != nil {
		return err
	}
	if a.github, err = leak.NewGitHub(leak.GitHubConfig{Service: a.svc, KeysJSON: data, Logger: a.log}); err != nil {
		return fmt.Errorf("-github-keys %s: %w", cfg.githubKeys, err)
	}
	a.log.Info("GitHub secret scanning reports accepted", "route", "POST /secret-scanning/github", "keys", cfg.githubKeys)
	return nil
}

// maxKeyFile bounds the key file read.
const maxKeyFile = 1 << 20

// readKeyFile reads the file of GitHub's keys, refusing one over
// maxKeyFile.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("-github-keys: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("-github-keys %s: %w", path, err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("-github-keys %s: larger than %d bytes", path, maxKeyFile)
	}
	return data, nil
}
