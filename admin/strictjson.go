package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/go-apitoken/apitoken"
)

// checkKeys refuses a body that could be read two ways: a key that appears
// twice in any object, which encoding/json would let the last one win, and
// a top-level key that is not exactly one of v's JSON field names, which it
// would match without regard to case. Only such refusals are returned:
// malformed JSON is left to the decoder, which says where it breaks.
func checkKeys(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	err := walkKeys(dec, nil, fieldNames(v))
	var verr *apitoken.ValidationError
	if errors.As(err, &verr) {
		return err
	}
	return nil
}

// maxDepth bounds how deep a body may nest. The admin API's bodies need
// three levels; without a bound, each level's copy of the path makes a
// 64 KiB body of '[' take gigabytes.
const maxDepth = 32

// walkKeys reads one JSON value at path. fields, when not nil, are the keys
// the value may have if it is an object.
func walkKeys(dec *json.Decoder, path, fields []string) error {
	if len(path) > maxDepth {
		return bodyError("", "the body nests more than "+strconv.Itoa(maxDepth)+" levels deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := make(map[string]bool)
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := tok.(string) // the decoder allows only strings here
			at := append(slices.Clip(path), key)
			switch {
			case fields != nil && !slices.Contains(fields, key):
				return pathError(at, key+" is not a known field")
			case seen[key]:
				return pathError(at, key+" appears more than once")
			}
			seen[key] = true
			if err := walkKeys(dec, at, nil); err != nil {
				return err
			}
		}
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := walkKeys(dec, append(slices.Clip(path), strconv.Itoa(i)), nil); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// fieldNames returns the JSON names of the fields of the struct v points to.
func fieldNames(v any) []string {
	return appendFieldNames(nil, reflect.TypeOf(v).Elem())
}

// appendFieldNames adds the JSON names of t's fields, and of the fields of
// the structs it embeds untagged, which encoding/json reads as its own.
func appendFieldNames(names []string, t reflect.Type) []string {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case name == "" && f.Anonymous && f.Type.Kind() == reflect.Struct:
			names = appendFieldNames(names, f.Type)
		case name == "":
			names = append(names, f.Name)
		default:
			names = append(names, name)
		}
	}
	return names
}
