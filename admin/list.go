package admin

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-apitoken/apitoken"
)

// Limits of the list's query parameters.
const (
	// MaxPageSize is the largest pageSize the list accepts, as Strapi's
	// default maxLimit.
	MaxPageSize = 100
	maxPage     = 1_000_000
	maxQueryLen = 200 // characters of q
	// expiringWithin is how soon a token must expire for status=expiring.
	expiringWithin = 7 * 24 * time.Hour
	maxIdleDays    = 3650 // idle=3650d: ten years unused
)

// listQuery is what GET /api-tokens was asked for: which tokens (q, type,
// status, idle), in which order, and which page. Without page and pageSize the
// whole list is answered, as Strapi does, without a meta block.
type listQuery struct {
	q        string
	typ      apitoken.Type
	status   string        // "", "expired", "expiring" (within 7 days, not yet expired), "active" (not expired)
	idle     time.Duration // unused for at least this long (never used: since created); 0 for any
	sort     string        // name, createdAt, updatedAt, lastUsedAt, expiresAt
	desc     bool
	paged    bool
	page     int
	pageSize int
}

// parseListQuery reads and checks the list's query parameters: each at most
// once, none unknown, every value of its form.
func parseListQuery(r *http.Request) (listQuery, error) {
	lq := listQuery{sort: "name", page: 1, pageSize: 25}
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || len(r.URL.RawQuery) > 2048 {
		return lq, queryError("", "the query string is malformed or too long")
	}
	for name, v := range vals {
		if len(v) > 1 {
			return lq, queryError(name, name+" appears more than once")
		}
		value := v[0]
		switch name {
		case "q":
			if !utf8.ValidString(value) || utf8.RuneCountInString(value) > maxQueryLen {
				return lq, queryError(name, "q must be valid text of at most "+strconv.Itoa(maxQueryLen)+" characters")
			}
			lq.q = strings.ToLower(strings.TrimSpace(value))
		case "type":
			lq.typ = apitoken.Type(value)
			if !lq.typ.Valid() {
				return lq, queryError(name, "type must be read-only, full-access or custom")
			}
		case "status":
			if value != "expired" && value != "expiring" && value != "active" {
				return lq, queryError(name, "status must be expired, expiring or active")
			}
			lq.status = value
		case "idle":
			days, ok := parseDays(value)
			if !ok {
				return lq, queryError(name, "idle must be a number of days from 1 to "+strconv.Itoa(maxIdleDays)+", such as 90d")
			}
			lq.idle = time.Duration(days) * 24 * time.Hour
		case "sort":
			field, dir, hasDir := strings.Cut(value, ":")
			switch {
			case !slices.Contains([]string{"name", "createdAt", "updatedAt", "lastUsedAt", "expiresAt"}, field):
				return lq, queryError(name, "sort must be name, createdAt, updatedAt, lastUsedAt or expiresAt, optionally followed by :asc or :desc")
			case hasDir && dir != "asc" && dir != "desc":
				return lq, queryError(name, "the sort direction must be asc or desc")
			}
			lq.sort, lq.desc = field, dir == "desc"
		case "page", "pageSize":
			n, err := strconv.Atoi(value)
			limit := map[string]int{"page": maxPage, "pageSize": MaxPageSize}[name]
			if err != nil || n < 1 || n > limit {
				return lq, queryError(name, name+" must be a whole number from 1 to "+strconv.Itoa(limit))
			}
			if name == "page" {
				lq.page = n
			} else {
				lq.pageSize = n
			}
			lq.paged = true
		default:
			return lq, queryError(name, truncate(name, 40)+" is not a known query parameter")
		}
	}
	return lq, nil
}

// parseDays reads "90d": a whole number of days from 1 to maxIdleDays, in
// plain digits without a sign or leading zero, so that each value has one
// spelling.
func parseDays(s string) (int, bool) {
	digits, ok := strings.CutSuffix(s, "d")
	if !ok || len(digits) == 0 || len(digits) > 4 || digits[0] == '0' {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil && n <= maxIdleDays
}

func queryError(param, msg string) error {
	path := []string{}
	if param != "" {
		path = []string{truncate(param, 40)}
	}
	return pathError(path, msg)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// match reports whether t is one of the tokens lq asks for, at now.
func (lq *listQuery) match(t *apitoken.Token, now time.Time) bool {
	if lq.typ != "" && t.Type != lq.typ {
		return false
	}
	switch lq.status {
	case "expired":
		if !t.Expired(now) {
			return false
		}
	case "expiring":
		if t.ExpiresAt == nil || t.Expired(now) || t.ExpiresAt.Sub(now) > expiringWithin {
			return false
		}
	case "active":
		if t.Expired(now) {
			return false
		}
	}
	if lq.idle > 0 && !t.UnusedSince(now.Add(-lq.idle)) {
		return false
	}
	return lq.q == "" || strings.Contains(strings.ToLower(t.Name), lq.q) || strings.Contains(strings.ToLower(t.Description), lq.q)
}

// compare orders tokens as lq asks: by its field, tokens without the time
// (never used, never expiring) last whichever the direction, and ties by
// name, A to Z.
func (lq *listQuery) compare(a, b *apitoken.Token) int {
	byName := cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.Name, b.Name))
	var c int
	switch lq.sort {
	case "name":
		c = byName
	case "createdAt":
		c = a.CreatedAt.Compare(b.CreatedAt)
	case "updatedAt":
		c = a.UpdatedAt.Compare(b.UpdatedAt)
	case "lastUsedAt", "expiresAt":
		x, y := a.LastUsedAt, b.LastUsedAt
		if lq.sort == "expiresAt" {
			x, y = a.ExpiresAt, b.ExpiresAt
		}
		switch {
		case x == nil && y == nil:
		case x == nil:
			return 1
		case y == nil:
			return -1
		default:
			c = x.Compare(*y)
		}
	}
	if lq.desc {
		c = -c
	}
	return cmp.Or(c, byName)
}

// pagination is the meta block of a paged list, named as Strapi names it.
type pagination struct {
	Page      int `json:"page"`
	PageSize  int `json:"pageSize"`
	PageCount int `json:"pageCount"`
	Total     int `json:"total"`
}

func (h *handler) list(k kindRoutes) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error { return h.listKind(w, r, k) }
}

func (h *handler) listKind(w http.ResponseWriter, r *http.Request, k kindRoutes) error {
	lq, err := parseListQuery(r)
	if err != nil {
		return err
	}
	list, err := h.svc.List(r.Context())
	if err != nil {
		return err
	}
	now := h.svc.Now()
	out := make([]*apitoken.Token, 0, len(list))
	for _, t := range list {
		if k.of(t) && lq.match(t, now) {
			out = append(out, tokenJSON(t))
		}
	}
	slices.SortStableFunc(out, lq.compare)
	if !lq.paged {
		return writeData(w, http.StatusOK, out)
	}
	p := pagination{Page: lq.page, PageSize: lq.pageSize, Total: len(out), PageCount: (len(out) + lq.pageSize - 1) / lq.pageSize}
	from := min((lq.page-1)*lq.pageSize, len(out))
	writeJSON(w, http.StatusOK, map[string]any{"data": out[from:min(from+lq.pageSize, len(out))], "meta": map[string]any{"pagination": p}})
	return nil
}
