package apitoken

import (
	"net/http"
	"strconv"
)

// refusal is a ready-made error response, so that refusing a request
// allocates nothing. A Service's refusals are in errorResponses' order.
type refusal struct {
	status    int
	challenge []string // the WWW-Authenticate value; nil for none
	body      []byte
}

var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	noStore         = []string{"no-store"}
	internalError   = errorBody(500, "InternalServerError", "Internal Server Error")
)

// newRefusals builds the error responses for realm. The middleware's 401, 400
// and 403 carry an RFC 6750 challenge; 429 and 503 do not, since no
// credentials would help.
func newRefusals(realm string) []refusal {
	rs := make([]refusal, len(errorResponses))
	for i, e := range errorResponses {
		rs[i] = refusal{status: e.status, body: errorBody(e.status, e.name, e.message)}
		if e.challenge {
			c := `Bearer realm="` + realm + `"`
			if e.code != "" {
				c += `, error="` + e.code + `"`
			}
			rs[i].challenge = []string{c}
		}
	}
	return rs
}

func errorBody(status int, name, msg string) []byte {
	return []byte(`{"data":null,"error":{"status":` + strconv.Itoa(status) + `,"name":"` + name + `","message":"` + msg + `","details":{}}}`)
}

// WriteError writes the response for an error of Authenticate, Check or Can:
// Strapi's JSON error body with the status of StatusCode, and for 401, 400
// and 403 an RFC 6750 WWW-Authenticate challenge in the Service's realm. It
// is the default Config.ErrorHandler; replacements may call it.
func (s *Service) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Cache-Control"] = noStore
	i := responseIndex(err)
	if i < 0 {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write(internalError)
		return
	}
	rf := &s.refusals[i]
	if rf.challenge != nil {
		h["Www-Authenticate"] = rf.challenge
	}
	w.WriteHeader(rf.status)
	w.Write(rf.body)
}
