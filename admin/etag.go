package admin

import (
	"net/http"
	"strings"

	"github.com/go-apitoken/apitoken"
)

// setETag sends t's Version as a strong entity tag, for If-Match.
func setETag(w http.ResponseWriter, t *apitoken.Token) {
	w.Header().Set("ETag", `"`+t.Version()+`"`)
}

// maxIfMatchTags bounds the entity tags of one If-Match header.
const maxIfMatchTags = 16

// ifMatch returns the versions that r's If-Match header allows an update
// of, or nil when it has none or "*" alone (any version; a missing token is
// 404 anyway). Weak tags never match (RFC 9110, 13.1.1), so a header of weak
// tags alone fails with apitoken.ErrStale.
func ifMatch(r *http.Request) ([]string, error) {
	values := r.Header.Values("If-Match")
	if len(values) == 0 {
		return nil, nil
	}
	list := strings.Join(values, ",")
	if strings.TrimSpace(list) == "*" {
		return nil, nil
	}
	var versions []string
	tags := 0
	for tag := range strings.SplitSeq(list, ",") {
		tag = strings.TrimSpace(tag)
		tags++
		switch {
		case tags > maxIfMatchTags:
			return nil, errBadIfMatch
		case strings.HasPrefix(tag, "W/") && len(tag) > 2: // weak: never matches
		case len(tag) >= 2 && tag[0] == '"' && tag[len(tag)-1] == '"' && !strings.Contains(tag[1:len(tag)-1], `"`):
			versions = append(versions, tag[1:len(tag)-1])
		default: // "*" beside tags would excuse them
			return nil, errBadIfMatch
		}
	}
	if len(versions) == 0 {
		return nil, apitoken.ErrStale
	}
	return versions, nil
}
