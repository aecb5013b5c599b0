package leak

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
)

// Match is one key of a GitHub secret scanning report. Its String,
// GoString and LogValue leave the key out.
type Match struct {
	Token  string `json:"token"`  // the key found
	Type   string `json:"type"`   // the name of the pattern that found it, as registered with GitHub
	URL    string `json:"url"`    // where it was found; may be empty
	Source string `json:"source"` // what it was found in: content, commit, issue_comment, gist_content, …
}

// String describes m without its key.
func (m Match) String() string {
	return fmt.Sprintf("leak.Match{Type:%q URL:%q Source:%q}", m.Type, m.URL, m.Source)
}

// GoString is String, so that %#v leaves the key out too.
func (m Match) GoString() string { return m.String() }

// LogValue makes slog record m without its key.
func (m Match) LogValue() slog.Value {
	return slog.GroupValue(slog.String("type", m.Type), slog.String("url", m.URL), slog.String("source", m.Source))
}

// ParseReport parses the body of a GitHub secret scanning report: a JSON
// array of objects with "token", "type", "url" and "source" strings
// (fields GitHub may add are ignored). Each match must have a token. An
// empty array is a report of nothing. Errors never quote the body.
func ParseReport(body []byte) ([]Match, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '[' {
		return nil, errors.New("leak: a report must be a JSON array")
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("leak: report: %w", syntaxOnly(err))
	}
	matches := make([]Match, len(raw))
	for i, r := range raw {
		if len(r) == 0 || r[0] != '{' {
			return nil, fmt.Errorf("leak: report: match %d is not an object", i)
		}
		if err := json.Unmarshal(r, &matches[i]); err != nil {
			return nil, fmt.Errorf("leak: report: match %d: %w", i, syntaxOnly(err))
		}
		if matches[i].Token == "" {
			return nil, fmt.Errorf("leak: report: match %d has no token", i)
		}
	}
	return matches, nil
}

// syntaxOnly returns err without anything of the input: encoding/json's
// errors name types, fields and offsets, never values, but a type error
// is reduced to its field all the same.
func syntaxOnly(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %q has the wrong type (want %s)", te.Field, te.Type)
	}
	return err
}
