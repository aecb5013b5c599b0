package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/go-apitoken/apitoken"
)

const timeLayout = "2006-01-02 15:04 MST"

// printKey prints a token with its key, which is shown this once.
func (c *command) printKey(t *apitoken.Token, key string, quiet bool, verb string) error {
	switch {
	case quiet:
		_, err := fmt.Fprintln(c.stdout, key)
		return err
	case c.json:
		return writeJSON(c.stdout, struct {
			*apitoken.Token
			AccessKey string `json:"accessKey"`
		}{t, key})
	}
	fmt.Fprintf(c.stdout, "%s token %q.\n\n", verb, clean(t.Name))
	printFields(c.stdout, t)
	fmt.Fprintf(c.stdout, "\nKey (shown only this once; store it now):\n%s\n", key)
	return nil
}

func (c *command) printToken(t *apitoken.Token) error {
	if c.json {
		return writeJSON(c.stdout, t)
	}
	printFields(c.stdout, t)
	return nil
}

func printFields(w io.Writer, t *apitoken.Token) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	perms := "-"
	if t.Type == apitoken.Custom {
		perms = strings.Join(t.Permissions, " ")
	}
	for _, f := range [][2]string{
		{"id", t.ID},
		{"name", clean(t.Name)},
		{"description", clean(t.Description)},
		{"type", string(t.Type)},
		{"kind", string(t.Kind.Resolved())},
		{"owner", owner(t, 0)},
		{"key", hint(t)},
		{"lifespan", t.Lifespan.String()},
		{"expires", when(t.ExpiresAt, "never")},
		{"last used", when(t.LastUsedAt, "never")},
		{"created", t.CreatedAt.Local().Format(timeLayout)},
		{"updated", t.UpdatedAt.Local().Format(timeLayout)},
		{"permissions", clean(perms)},
		{"restrictions", restrictions(t)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	tw.Flush()
}

func printTable(w io.Writer, list []*apitoken.Token) {
	if len(list) == 0 {
		fmt.Fprintln(w, "No tokens. Create one with: apitoken create --name NAME")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tTYPE\tKIND\tOWNER\tKEY\tEXPIRES\tLAST USED")
	for _, t := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, clean(truncate(t.Name, 40)), t.Type, t.Kind.Resolved(), owner(t, 40),
			hint(t), when(t.ExpiresAt, "never"), when(t.LastUsedAt, "never"))
	}
	tw.Flush()
}

// owner is the owner of an admin token, cut to n bytes unless n is 0, or
// "-" for a token without one.
func owner(t *apitoken.Token, n int) string {
	switch {
	case t.Owner == "":
		return "-"
	case n > 0:
		return clean(truncate(t.Owner, n))
	}
	return clean(t.Owner)
}

// hint is the token's key hint (its prefix and last 4 characters), or "-"
// where the store keeps none.
func hint(t *apitoken.Token) string {
	if t.KeyHint == "" {
		return "-"
	}
	return clean(t.KeyHint)
}

func when(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.Local().Format(timeLayout)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// clean makes text from the database or the command line safe to print on a
// terminal: control and formatting characters (escape sequences, bidi
// overrides, tabs that would break the table) become U+FFFD.
func clean(s string) string {
	if strings.IndexFunc(s, unsafeRune) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unsafeRune(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar
}

// keyLike matches what could be a key or a large piece of one: 32 or more
// letters, digits and underscores in a row. Issued keys are at least 51.
var keyLike = regexp.MustCompile(`[0-9A-Za-z_]{32,}`)

// hideKeys writes to w with every keyLike run replaced by "[hidden]".
// Standard error goes through it: messages quote arguments and flag values
// (the flag package's among them), and a key given in the wrong place must
// not end up on a screen, in a terminal's scrollback or in CI logs. Each
// Write is filtered whole; the CLI writes a message per Write.
type hideKeys struct{ w io.Writer }

func (h hideKeys) Write(p []byte) (int, error) {
	if _, err := h.w.Write(keyLike.ReplaceAll(p, []byte("[hidden]"))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// restrictions describes t's Policy in one line.
func restrictions(t *apitoken.Token) string {
	var parts []string
	if t.Disabled {
		parts = append(parts, "disabled")
	}
	if len(t.AllowedIPs) > 0 {
		ips := make([]string, len(t.AllowedIPs))
		for i, p := range t.AllowedIPs {
			ips[i] = p.String()
		}
		parts = append(parts, "from "+strings.Join(ips, " "))
	}
	if r := t.RateLimit; r != nil {
		parts = append(parts, fmt.Sprintf("%d requests per %s", r.Requests, time.Duration(r.Window)))
	}
	if q := t.Quota; q != nil {
		s := fmt.Sprintf("%d of %d uses left", q.Remaining, q.Limit)
		if q.Refill != apitoken.NoRefill {
			s += ", refilled " + string(q.Refill)
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}
