package apitoken_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-apitoken/apitoken"
)

// TestInvisibleCharacters: names that would display as something other
// than what they are (bidirectional overrides and isolates, zero-width and
// other format characters, control characters) are refused on every path,
// here the library's Create and Update.
func TestInvisibleCharacters(t *testing.T) {
	svc, _ := newService(t, apitoken.Config{})
	tok, _ := mustCreate(t, svc, apitoken.CreateParams{Name: "plain"})
	const nameMsg = "name must not contain invisible formatting characters such as bidirectional overrides"
	tests := []struct {
		name, tokName, msg string
	}{
		{"right-to-left override", "invoice\u202Egpj.exe", nameMsg},
		{"left-to-right embedding", "a\u202Ab", nameMsg},
		{"pop directional", "a\u202Cb", nameMsg},
		{"isolate", "a\u2066b\u2069", nameMsg},
		{"first strong isolate", "a\u2068b", nameMsg},
		{"zero-width space", "c\u200Bi", nameMsg},
		{"right-to-left mark", "a\u200Fb", nameMsg},
		{"byte order mark", "\uFEFFci", nameMsg},
		{"line separator", "a\u2028b", nameMsg},
		{"Hangul filler alone", "\u3164", nameMsg},
		{"halfwidth Hangul filler", "\uFFA0", nameMsg},
		{"Hangul choseong filler", "\u115F", nameMsg},
		{"look-alike with a filler", "plain\u3164", nameMsg},
		{"variation selector", "pl\uFE0Fain", nameMsg},
		{"supplementary variation selector", "pl\U000E0100ain", nameMsg},
		{"combining grapheme joiner", "pl\u034Fain", nameMsg},
		{"Mongolian variation selector", "pl\u180Bain", nameMsg},
		{"Khmer inherent vowel", "pl\u17B4ain", nameMsg},
		{"braille blank", "\u2800", nameMsg},
		{"stacked marks", "plain" + strings.Repeat("\u0336", 90), "name must not stack more than 4 combining marks on one character"},
		{"newline in name", "a\nb", "name must not contain control characters"},
		{"escape in name", "a\x1b[2Jb", "name must not contain control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := svc.Create(t.Context(), apitoken.CreateParams{Name: tt.tokName})
			requireFieldError(t, err, "name", tt.msg)
			_, err = svc.Update(t.Context(), tok.ID, apitoken.UpdateParams{Name: &tt.tokName})
			requireFieldError(t, err, "name", tt.msg)
		})
	}
	got, err := svc.Get(t.Context(), tok.ID)
	require.NoError(t, err)
	assert.Equal(t, "plain", got.Name)
}

func requireFieldError(t *testing.T, err error, field, msg string) {
	t.Helper()
	var v *apitoken.ValidationError
	require.True(t, errors.As(err, &v), "want a ValidationError, got %v", err)
	require.Len(t, v.Errors, 1, v.Error())
	assert.Equal(t, []string{field}, v.Errors[0].Path)
	assert.Equal(t, msg, v.Errors[0].Message)
}
