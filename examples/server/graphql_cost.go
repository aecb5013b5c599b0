package main

import (
	"github.com/graph-gophers/graphql-go/ast"
)

// A GraphQL query's cost is counted before it runs, from its text and the
// schema, because the library's limits (length, depth, selections) bound
// the query but not what it asks for: a field inside a list is answered
// once per element, and aliases repeat a list as often as the query names
// it. So 650 aliases of the article list spreading a fragment of 100
// fields are 6.5 million values from 14 KB of query.
//
// The count is an upper bound: each field counts once per element of every
// list around it, lists count at their longest, fragments count wherever
// they are spread (even on a type they do not match), and @skip and
// @include are ignored. The parser reads only the structure that decides
// the count (operations, fragments, selections, aliases) and skips
// arguments, variables and directives; it follows graph-gophers' lexer
// wherever the two could disagree on where a string or comment ends, so
// that no field hides from the count.

// queryCost is what an operation may produce.
type queryCost struct {
	// values counts the values of the response: every field once per
	// element of each list around it.
	values int64
	// bytes bounds the response's size without the text of string values:
	// the keys, the punctuation and the type names, at the same counts.
	bytes int64
	// pairs estimates the comparisons of the library's validation of
	// overlapping fields, in the whole document (see overlapPairs).
	pairs int64
}

// costLimit is above every limit, where saturated counts stop.
const costLimit = int64(1) << 50

func satAdd(a, b int64) int64 { return min(a+b, costLimit) }
func satMul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > costLimit/b {
		return costLimit
	}
	return min(a*b, costLimit)
}

func (c queryCost) add(d queryCost) queryCost {
	return queryCost{values: satAdd(c.values, d.values), bytes: satAdd(c.bytes, d.bytes)}
}

func (c queryCost) times(n int64) queryCost {
	return queryCost{values: satMul(c.values, n), bytes: satMul(c.bytes, n)}
}

// costModel counts the cost of queries against a schema.
type costModel struct {
	schema *ast.Schema
	// listLen returns how many elements the list field of typeName may
	// have at most.
	listLen func(typeName, field string) int64
}

// introspectionListLen is the longest list introspection can return for
// schema: no list of types, fields, arguments, enum values, directives or
// directive locations is longer.
func introspectionListLen(schema *ast.Schema) int64 {
	n := max(len(schema.Types), len(schema.Directives))
	for _, t := range schema.Types {
		switch t := t.(type) {
		case *ast.ObjectTypeDefinition:
			n = max(n, len(t.Fields), len(t.Interfaces))
			for _, f := range t.Fields {
				n = max(n, len(f.Arguments))
			}
		case *ast.InterfaceTypeDefinition:
			n = max(n, len(t.Fields), len(t.PossibleTypes))
			for _, f := range t.Fields {
				n = max(n, len(f.Arguments))
			}
		case *ast.Union:
			n = max(n, len(t.UnionMemberTypes))
		case *ast.EnumTypeDefinition:
			n = max(n, len(t.EnumValuesDefinition))
		case *ast.InputObject:
			n = max(n, len(t.Values))
		}
	}
	for _, d := range schema.Directives {
		n = max(n, len(d.Arguments), len(d.Locations))
	}
	return int64(n)
}

// cost returns the largest cost of the operations in query. Fields the
// schema does not have, unknown fragments and fragment cycles count
// nothing: the library's validation refuses them before anything runs. A
// query it cannot parse is an error.
func (m *costModel) cost(query string) (queryCost, error) {
	doc, err := parseQuery(query)
	if err != nil {
		return queryCost{}, err
	}
	w := &costWalk{model: m, fragments: doc.fragments, memo: map[string]queryCost{}, busy: map[string]bool{}}
	worst := queryCost{pairs: overlapPairs(doc)}
	for _, op := range doc.operations {
		root := m.schema.RootOperationTypes[op.kind]
		if root == nil {
			continue // refused by the library
		}
		c := w.selections(op.sels, root.TypeName(), 0)
		worst.values = max(worst.values, c.values)
		worst.bytes = max(worst.bytes, c.bytes)
	}
	return worst, nil
}

type costWalk struct {
	model     *costModel
	fragments map[string]*fragmentDef
	memo      map[string]queryCost // fragment name → its cost, once
	busy      map[string]bool      // fragments being counted: a cycle
}

// valueBytes bounds a value's punctuation: the quotes and colon around its
// key, the comma after it, and braces or brackets.
const valueBytes = 8

// maxWalk bounds the nesting of selection sets and fragment spreads that
// the walk follows; deeper queries count as too costly.
const maxWalk = 1000

// selections returns the cost of sels on one value of type typeName.
func (w *costWalk) selections(sels []selection, typeName string, depth int) queryCost {
	if depth > maxWalk {
		return queryCost{values: costLimit, bytes: costLimit}
	}
	var c queryCost
	for _, s := range sels {
		switch {
		case s.field != "":
			c = c.add(w.field(s, typeName, depth))
		case s.spread != "":
			c = c.add(w.fragment(s.spread, depth))
		default: // inline fragment
			on := s.on
			if on == "" {
				on = typeName
			}
			c = c.add(w.selections(s.sels, on, depth+1))
		}
	}
	return c
}

func (w *costWalk) field(s selection, typeName string, depth int) queryCost {
	key := s.alias
	if key == "" {
		key = s.field
	}
	own := queryCost{values: 1, bytes: int64(len(key)) + valueBytes}
	var t ast.Type
	switch s.field {
	case "__typename":
		own.bytes += int64(len(typeName)) + 2
		return own
	case "__schema":
		t = w.model.schema.Types["__Schema"]
	case "__type":
		t = w.model.schema.Types["__Type"]
	default:
		def := fieldDef(w.model.schema.Types[typeName], s.field)
		if def == nil {
			return own
		}
		t = def.Type
	}
	n := int64(1)
	for {
		switch tt := t.(type) {
		case *ast.NonNull:
			t = tt.OfType
			continue
		case *ast.List:
			n = satMul(n, w.model.listLen(typeName, s.field))
			t = tt.OfType
			continue
		}
		break
	}
	named, ok := t.(ast.NamedType)
	if !ok || len(s.sels) == 0 {
		return own.add(queryCost{bytes: satMul(n, valueBytes)})
	}
	return own.add(w.selections(s.sels, named.TypeName(), depth+1).times(n))
}

func (w *costWalk) fragment(name string, depth int) queryCost {
	if c, ok := w.memo[name]; ok {
		return c
	}
	f := w.fragments[name]
	if f == nil || w.busy[name] {
		return queryCost{}
	}
	w.busy[name] = true
	c := w.selections(f.sels, f.on, depth+1)
	delete(w.busy, name)
	w.memo[name] = c
	return c
}

// fieldDef returns the field of an object or interface type, or nil.
func fieldDef(t ast.NamedType, name string) *ast.FieldDefinition {
	switch t := t.(type) {
	case *ast.ObjectTypeDefinition:
		return t.Fields.Get(name)
	case *ast.InterfaceTypeDefinition:
		return t.Fields.Get(name)
	}
	return nil
}
