package admin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
)

// TestAmbiguousBodies: a body that could be read two ways is refused with a
// 400 naming the field, before anything is stored: field names match
// exactly, a key may appear once in each object, and names may not hide
// what they say.
func TestAmbiguousBodies(t *testing.T) {
	e := newEnv(t, apitoken.Config{})
	id := e.create(`{"name":"target"}`).ID
	const invisible = "must not contain invisible formatting characters such as bidirectional overrides"
	tests := []struct {
		name, method, path, body string
		field                    []string
		message                  string
	}{
		{"type then TYPE", "POST", "/api-tokens", `{"name":"a","type":"read-only","TYPE":"full-access"}`, []string{"TYPE"}, "TYPE is not a known field"},
		{"TYPE alone", "POST", "/api-tokens", `{"name":"a","TYPE":"full-access"}`, []string{"TYPE"}, "TYPE is not a known field"},
		{"Name", "POST", "/api-tokens", `{"Name":"a"}`, []string{"Name"}, "Name is not a known field"},
		{"duplicate type", "POST", "/api-tokens", `{"name":"a","type":"read-only","type":"full-access"}`, []string{"type"}, "type appears more than once"},
		{"duplicate name", "POST", "/api-tokens", `{"name":"a","name":"b"}`, []string{"name"}, "name appears more than once"},
		{"escaped duplicate", "POST", "/api-tokens", `{"name":"a","typ\u0065":"custom","type":"full-access"}`, []string{"type"}, "type appears more than once"},
		{"nested duplicate", "POST", "/api-tokens", `{"name":"a","permissions":[{"x":1,"x":2}]}`, []string{"permissions", "0", "x"}, "x appears more than once"},
		{"update TYPE", "PUT", "/api-tokens/" + id, `{"type":"read-only","TYPE":"full-access"}`, []string{"TYPE"}, "TYPE is not a known field"},
		{"update duplicate", "PUT", "/api-tokens/" + id, `{"type":"read-only","type":"full-access"}`, []string{"type"}, "type appears more than once"},
		{"update Lifespan", "PUT", "/api-tokens/" + id, `{"Lifespan":null}`, []string{"Lifespan"}, "Lifespan is not a known field"},
		{"regenerate Overlap", "POST", "/api-tokens/" + id + "/regenerate", `{"Overlap":86400000}`, []string{"Overlap"}, "Overlap is not a known field"},
		{"regenerate duplicate", "POST", "/api-tokens/" + id + "/regenerate", `{"overlap":0,"overlap":86400000}`, []string{"overlap"}, "overlap appears more than once"},
		{"bidi override in name", "POST", "/api-tokens", `{"name":"invoice\u202egpj.exe"}`, []string{"name"}, "name " + invisible},
		{"isolate in name", "PUT", "/api-tokens/" + id, `{"name":"a\u2066b"}`, []string{"name"}, "name " + invisible},
		{"zero-width in name", "POST", "/api-tokens", `{"name":"c\u200bi"}`, []string{"name"}, "name " + invisible},
		{"deep nesting", "POST", "/api-tokens", strings.Repeat("[", 60000), []string{}, "the body nests more than 32 levels deep"},
		{"negative overlap", "POST", "/api-tokens/" + id + "/regenerate", `{"overlap":-288230376065311744}`, []string{"overlap"},
			"overlap must be between 0 and 30 days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.body)
			require.Equal(t, 400, r.status, r.raw)
			require.NotNil(t, r.Error)
			assert.Equal(t, "ValidationError", r.Error.Name)
			assert.Equal(t, tt.message, r.Error.Message)
			require.Len(t, r.Error.Details.Errors, 1, r.raw)
			assert.Equal(t, tt.field, r.Error.Details.Errors[0].Path)
			assert.Equal(t, "ValidationError", r.Error.Details.Errors[0].Name)
		})
	}
	list, err := e.svc.List(context.Background())
	require.NoError(t, err)
	require.Len(t, list, 1, "refused requests stored nothing")
	assert.Equal(t, "target", list[0].Name)
	assert.Equal(t, apitoken.ReadOnly, list[0].Type)
	assert.Equal(t, list[0].CreatedAt, list[0].UpdatedAt, "and changed nothing")
}
