package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAdminTokens: a script calls the admin API with an admin token
// instead of the administrator's password; content-API tokens never open
// it, and admin tokens never open the content API.
func TestAdminTokens(t *testing.T) {
	env := map[string]string{"ADMIN_EMAIL": adminEmail, "ADMIN_PASSWORD": adminPassword}
	db := filepath.Join(t.TempDir(), "admin-tokens.db")
	s := startServer(t, db, env)

	r := s.admin(t, "POST", "/admin/admin-tokens", `{"name":"ci","permissions":["admin::api-tokens.read","admin::api-tokens.create"]}`)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	var c struct {
		Data struct {
			ID        string `json:"id"`
			Kind      string `json:"kind"`
			Owner     string `json:"owner"`
			AccessKey string `json:"accessKey"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.body), &c))
	assert.Equal(t, "admin", c.Data.Kind)
	assert.Equal(t, adminEmail, c.Data.Owner)
	adminKey := c.Data.AccessKey
	require.NotEmpty(t, adminKey)

	r = s.do(t, "POST", "/admin/api-tokens", `{"name":"made by ci","type":"full-access"}`, bearer(adminKey))
	require.Equal(t, http.StatusCreated, r.status, "the admin token creates a content token: %s", r.body)
	var made struct {
		Data struct {
			ID        string `json:"id"`
			AccessKey string `json:"accessKey"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.body), &made))
	r = s.do(t, "GET", "/admin/api-tokens", "", bearer(adminKey))
	assert.Equal(t, http.StatusOK, r.status, r.body)
	assert.Contains(t, r.body, "made by ci")
	assert.NotContains(t, r.body, `"name":"ci"`, "the content list holds no admin token")

	r = s.do(t, "DELETE", "/admin/api-tokens/"+made.Data.ID, "", bearer(adminKey))
	assert.Equal(t, http.StatusForbidden, r.status, "not granted delete: %s", r.body)
	r = s.do(t, "POST", "/admin/admin-tokens", `{"name":"child","permissions":["admin::api-tokens.delete"]}`, bearer(adminKey))
	assert.Equal(t, http.StatusForbidden, r.status, "an admin token makes no admin token: %s", r.body)

	r = s.do(t, "GET", "/admin/api-tokens", "", bearer(made.Data.AccessKey))
	assert.Equal(t, http.StatusUnauthorized, r.status, "a full-access content token on the admin API: %s", r.body)
	assert.NotContains(t, r.header.Get("WWW-Authenticate"), "Basic", "no password dialog for a bearer key")
	r = s.do(t, "GET", "/api/articles", "", bearer(adminKey))
	assert.Equal(t, http.StatusUnauthorized, r.status, "an admin token on the content API: %s", r.body)
	r = s.do(t, "GET", "/api/articles", "", bearer(made.Data.AccessKey))
	assert.Equal(t, http.StatusOK, r.status)

	// The token survives a restart, and dies when the administrator's
	// login changes: its owner is gone.
	s.stop()
	s = startServer(t, db, env)
	assert.Equal(t, http.StatusOK, s.do(t, "GET", "/admin/api-tokens", "", bearer(adminKey)).status)
	s.stop()
	s = startServer(t, db, map[string]string{"ADMIN_EMAIL": "new@test.example", "ADMIN_PASSWORD": adminPassword})
	assert.Equal(t, http.StatusUnauthorized, s.do(t, "GET", "/admin/api-tokens", "", bearer(adminKey)).status)
}
