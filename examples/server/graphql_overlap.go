package main

// The library validates that the fields of a selection set can be merged
// (GraphQL's "overlapping fields" rule) by comparing them in pairs: every
// fragment spread with every other and with every field, and fields of
// the same response name with each other, their subselections too. It
// remembers each pair, so a query of n spreads costs n²/2 pairs: 4,000
// spreads of a one-field fragment, 16 KB of query that cost 4,000, took 11
// s of CPU and 1 GB. So the pairs are counted with the cost, before the
// library sees the query, and the library's own limit
// (graphql.OverlapValidationLimit) bounds what this count misses.

const (
	// maxOverlapPairs bounds the pairs a query's selection sets compare,
	// as overlapPairs counts them.
	maxOverlapPairs = 10_000
	// libraryOverlapPairs is the library's limit, which counts every pair
	// it remembers, through fragments and subselections: about 100 bytes
	// each.
	libraryOverlapPairs = 5 * maxOverlapPairs
)

// overlapPairs estimates the comparisons of the overlapping-fields rule
// in doc: in each selection set, as written, of operations and fragments,
// f fragments (spreads and inline) and n fields compare in f(f-1)/2 + f·n
// pairs, and each pair of fields of one response name compares once plus
// once per pair of their subselections.
func overlapPairs(doc *queryDoc) int64 {
	var p int64
	for _, op := range doc.operations {
		p = satAdd(p, setPairs(op.sels))
	}
	for _, f := range doc.fragments {
		p = satAdd(p, setPairs(f.sels))
	}
	return p
}

func setPairs(sels []selection) int64 {
	type group struct{ n, subs, subsSquared int64 }
	groups := map[string]*group{}
	var p, frags, fields int64
	for _, s := range sels {
		p = satAdd(p, setPairs(s.sels))
		if s.field == "" {
			frags++
			continue
		}
		fields++
		key := s.alias
		if key == "" {
			key = s.field
		}
		g := groups[key]
		if g == nil {
			g = &group{}
			groups[key] = g
		}
		k := int64(len(s.sels))
		g.n, g.subs, g.subsSquared = g.n+1, g.subs+k, g.subsSquared+k*k
	}
	p = satAdd(p, satAdd(frags*(frags-1)/2, frags*fields))
	for _, g := range groups {
		// Σ over pairs i<j of 1 + subs_i·subs_j.
		p = satAdd(p, satAdd(g.n*(g.n-1)/2, (satMul(g.subs, g.subs)-g.subsSquared)/2))
	}
	return p
}
