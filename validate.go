package apitoken

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on token fields. Strapi's admin screen caps names at 100 characters;
// descriptions are capped so that a body cannot fill the store.
const (
	MaxNameLen        = 100
	MaxDescriptionLen = 1000
	maxPermissions    = 1000
)

// validate trims t's text fields and checks them, and lifespan when it is
// given, collecting every problem into v, which may hold others already.
// An admin token's permissions are checked against ceiling when it is not
// nil (see validateKind).
func (s *Service) validate(t *Token, lifespan *Duration, ceiling []string, v *ValidationError) error {
	t.Name = strings.TrimSpace(t.Name)
	t.Description = strings.TrimSpace(t.Description)
	switch n := utf8.RuneCountInString(t.Name); {
	case !utf8.ValidString(t.Name):
		v.add("name", "name must be valid UTF-8")
	case n == 0:
		v.add("name", "name is a required field")
	case n > MaxNameLen:
		v.add("name", fmt.Sprintf("name must be at most %d characters", MaxNameLen))
	case strings.IndexFunc(t.Name, unicode.IsControl) >= 0:
		v.add("name", "name must not contain control characters")
	case strings.IndexFunc(t.Name, invisible) >= 0:
		v.add("name", "name must not contain invisible formatting characters such as bidirectional overrides")
	case stackedMarks(t.Name):
		v.add("name", fmt.Sprintf("name must not stack more than %d combining marks on one character", maxMarks))
	}
	switch {
	case !utf8.ValidString(t.Description):
		v.add("description", "description must be valid UTF-8")
	case utf8.RuneCountInString(t.Description) > MaxDescriptionLen:
		v.add("description", fmt.Sprintf("description must be at most %d characters", MaxDescriptionLen))
	}
	if !t.Type.Valid() {
		v.add("type", "type must be one of the following values: read-only, full-access, custom")
	}
	if lifespan != nil && !slices.Contains(s.durations, *lifespan) {
		v.add("lifespan", s.lifespanMessage())
	}
	if validateKind(t, ceiling, v); t.Kind != KindAdmin {
		s.validatePermissions(t, v)
	}
	return v.orNil()
}

// invisible reports whether r is a format character or a line or paragraph
// separator: bidirectional overrides and isolates (U+202A–U+202E,
// U+2066–U+2069), zero-width characters, marks and byte order marks, which
// make a name display as something other than what it is, in the admin
// screen, a terminal or a log.
//
// Also refused: what renders as nothing or as a blank though it is not a
// space, so that "deploy" and "deploy" with a Hangul filler or a variation
// selector cannot pass for one another: Unicode's other default-ignorable
// code points (Hangul fillers, the combining grapheme joiner, Khmer
// inherent vowels), variation selectors, and the braille blank.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point) ||
		r == '\u2800'
}

// maxMarks bounds the combining marks on one character of a name: enough
// for any script, too few to draw over the rows around it.
const maxMarks = 4

// stackedMarks reports whether s has more than maxMarks combining marks in
// a row.
func stackedMarks(s string) bool {
	n := 0
	for _, r := range s {
		if unicode.In(r, unicode.Mn, unicode.Me) {
			if n++; n > maxMarks {
				return true
			}
		} else {
			n = 0
		}
	}
	return false
}

func (s *Service) validatePermissions(t *Token, v *ValidationError) {
	switch {
	case t.Type != Custom && len(t.Permissions) > 0:
		v.add("permissions", "Non-custom tokens should not reference permissions")
		return
	case t.Type != Custom:
		t.Permissions = nil
		return
	case t.Permissions == nil:
		v.add("permissions", "Missing permissions attribute for custom token")
		return
	case len(t.Permissions) > maxPermissions:
		v.add("permissions", fmt.Sprintf("a token may have at most %d permissions", maxPermissions))
		return
	}
	var unknown []string
	perms := make([]string, 0, len(t.Permissions))
	for _, p := range t.Permissions {
		_, err := ParseAction(p)
		if err != nil || (!s.anyAction && !s.actions.Has(p)) {
			unknown = append(unknown, truncate(p, 60))
			continue
		}
		perms = append(perms, p)
	}
	if len(unknown) > 0 {
		v.add("permissions", "Unknown permissions provided: "+strings.Join(unknown, ", "))
		return
	}
	slices.Sort(perms)
	t.Permissions = slices.Compact(perms)
}

func (s *Service) lifespanMessage() string {
	allowed := make([]string, len(s.durations))
	for i, a := range s.durations {
		if a == Unlimited {
			allowed[i] = "null"
		} else {
			allowed[i] = strconv.FormatInt(a.Milliseconds(), 10)
		}
	}
	return "lifespan must be one of the following values: " + strings.Join(allowed, ", ")
}
