package main

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/go-apitoken/apitoken"
)

// adminHandler serves the admin API under the /admin prefix.
//
// INTERIM: the create, list, get and permissions routes only, so that the
// demo and its end-to-end test run until the admin package (issue 4) lands;
// then this file becomes admin.New with an Authorize that trusts
// adminAuth.protect.
func adminHandler(svc *apitoken.Service) (http.Handler, error) {
	mux := http.NewServeMux()
	fail := func(w http.ResponseWriter, err error) {
		var v *apitoken.ValidationError
		switch {
		case errors.As(err, &v):
			writeError(w, http.StatusBadRequest, "ValidationError", v.Message())
		case errors.Is(err, apitoken.ErrNotFound):
			writeError(w, http.StatusNotFound, "NotFoundError", "Not Found")
		default:
			writeError(w, http.StatusInternalServerError, "InternalServerError", "Internal Server Error")
		}
	}
	mux.HandleFunc("POST /api-tokens", func(w http.ResponseWriter, r *http.Request) {
		var p apitoken.CreateParams
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes)).Decode(&p); err != nil {
			writeError(w, http.StatusBadRequest, "ValidationError", "Invalid JSON body")
			return
		}
		t, key, err := svc.Create(r.Context(), p)
		if err != nil {
			fail(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"data": struct {
			*apitoken.Token
			AccessKey string `json:"accessKey"`
		}{t, key}})
	})
	mux.HandleFunc("GET /api-tokens", func(w http.ResponseWriter, r *http.Request) {
		l, err := svc.List(r.Context())
		if err != nil {
			fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": l})
	})
	mux.HandleFunc("GET /api-tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
		t, err := svc.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": t})
	})
	mux.HandleFunc("GET /content-api/permissions", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"data": svc.Actions().Groups()})
	})
	return mux, nil
}
