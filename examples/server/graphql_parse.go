package main

import (
	"errors"
	"fmt"
	"strings"
)

// The cost of a query is counted from its structure, which parseQuery
// reads: operations, fragments, selections and aliases. It skips
// arguments, variables and directives, which hold no selections.

// The parsed structure of an executable document.
type (
	queryDoc struct {
		operations []operation
		fragments  map[string]*fragmentDef
	}
	operation struct {
		kind string // query, mutation or subscription
		sels []selection
	}
	fragmentDef struct {
		on   string
		sels []selection
	}
	// selection is a field (field set), a fragment spread (spread set) or
	// an inline fragment (neither).
	selection struct {
		alias, field string
		spread       string
		on           string
		sels         []selection
	}
)

// maxNesting bounds how deeply selection sets may nest in the parser. The
// library refuses queries deeper than maxQueryDepth fields anyway; inline
// fragments nest without depth.
const maxNesting = 64

var errSyntax = errors.New("syntax error")

// parseQuery parses the structure of an executable document.
func parseQuery(src string) (*queryDoc, error) {
	p := &queryParser{lex: queryLexer{src: src}}
	p.next()
	doc := &queryDoc{fragments: map[string]*fragmentDef{}}
	for p.tok != tokEOF && p.err == nil {
		if p.tok == tokValue { // a description, which the library allows
			p.next()
		}
		switch {
		case p.tok == '{':
			doc.operations = append(doc.operations, operation{"query", p.selectionSet(0)})
		case p.tok == tokName && p.text == "fragment":
			p.next()
			name := p.name()
			if p.tok != tokName || p.text != "on" {
				p.fail("expecting \"on\"")
			}
			p.next()
			on := p.name()
			p.directives()
			sels := p.selectionSet(0)
			if _, dup := doc.fragments[name]; !dup {
				doc.fragments[name] = &fragmentDef{on, sels}
			}
		case p.tok == tokName && (p.text == "query" || p.text == "mutation" || p.text == "subscription"):
			kind := p.text
			p.next()
			if p.tok == tokName {
				p.next()
			}
			if p.tok == '(' {
				p.skipBalanced()
			}
			p.directives()
			doc.operations = append(doc.operations, operation{kind, p.selectionSet(0)})
		default:
			p.fail("expecting an operation or a fragment")
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	return doc, nil
}

type queryParser struct {
	lex  queryLexer
	tok  rune
	text string
	err  error
}

func (p *queryParser) next() {
	if p.err != nil {
		p.tok = tokEOF
		return
	}
	p.tok, p.text, p.err = p.lex.next()
}

func (p *queryParser) fail(msg string) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: %s at byte %d", errSyntax, msg, p.lex.pos)
	}
	p.tok = tokEOF
}

func (p *queryParser) name() string {
	if p.tok != tokName {
		p.fail("expecting a name")
		return ""
	}
	s := p.text
	p.next()
	return s
}

// selectionSet parses { selection… }.
func (p *queryParser) selectionSet(depth int) []selection {
	if depth > maxNesting {
		p.fail("selections nested too deeply")
		return nil
	}
	if p.tok != '{' {
		p.fail("expecting \"{\"")
		return nil
	}
	p.next()
	var sels []selection
	for p.tok != '}' && p.err == nil {
		sels = append(sels, p.selection(depth))
	}
	if len(sels) == 0 {
		p.fail("empty selection set")
	}
	p.next()
	return sels
}

func (p *queryParser) selection(depth int) selection {
	if p.tok == tokSpread {
		p.next()
		if p.tok == tokName && p.text != "on" {
			s := selection{spread: p.text}
			p.next()
			p.directives()
			return s
		}
		var s selection
		if p.tok == tokName { // on
			p.next()
			s.on = p.name()
		}
		p.directives()
		s.sels = p.selectionSet(depth + 1)
		return s
	}
	s := selection{field: p.name()}
	if p.tok == ':' {
		p.next()
		s.alias, s.field = s.field, p.name()
	}
	if p.tok == '(' {
		p.skipBalanced()
	}
	p.directives()
	if p.tok == '{' {
		s.sels = p.selectionSet(depth + 1)
	}
	return s
}

// directives skips @name(arguments)….
func (p *queryParser) directives() {
	for p.tok == '@' && p.err == nil {
		p.next()
		p.name()
		if p.tok == '(' {
			p.skipBalanced()
		}
	}
}

// skipBalanced skips from an opening parenthesis to its closing one, over
// values, which hold no selections.
func (p *queryParser) skipBalanced() {
	var open []rune
	for p.err == nil {
		switch p.tok {
		case '(', '[', '{':
			open = append(open, p.tok)
		case ')', ']', '}':
			want := map[rune]rune{')': '(', ']': '[', '}': '{'}[p.tok]
			if len(open) == 0 || open[len(open)-1] != want {
				p.fail("unbalanced " + string(p.tok))
				return
			}
			open = open[:len(open)-1]
		case tokEOF:
			p.fail("unexpected end of query")
			return
		}
		p.next()
		if len(open) == 0 {
			return
		}
		if len(open) > maxNesting {
			p.fail("values nested too deeply")
			return
		}
	}
}

// Tokens other than single punctuation runes.
const (
	tokEOF    rune = -1
	tokName   rune = -2
	tokValue  rune = -3 // a number or a string
	tokSpread rune = -4 // ...
)

// queryLexer splits a query into tokens as graph-gophers does (its lexer is
// text/scanner's, with # comments and commas ignored): white space is
// space, tab, CR and LF; a comment runs from # to CR or LF; a string ends
// at the first unescaped quote, and a block string at the first three
// quotes, escaped or not. Names are ASCII: the library's Unicode letters
// are not GraphQL, and are refused here.
type queryLexer struct {
	src string
	pos int
}

func (l *queryLexer) next() (rune, string, error) {
	for l.pos < len(l.src) {
		switch c := l.src[l.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',':
			l.pos++
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' && l.src[l.pos] != '\r' {
				l.pos++
			}
		case isNameStart(c):
			start := l.pos
			for l.pos < len(l.src) && (isNameStart(l.src[l.pos]) || isDigit(l.src[l.pos])) {
				l.pos++
			}
			return tokName, l.src[start:l.pos], nil
		case c == '.':
			// The library takes ". . ." too: its parser reads three
			// dot tokens.
			for range 3 {
				if l.pos >= len(l.src) || l.src[l.pos] != '.' {
					return 0, "", l.errorf("expecting \"...\"")
				}
				l.pos++
				for l.pos < len(l.src) && strings.IndexByte(" \t\r\n,", l.src[l.pos]) >= 0 {
					l.pos++
				}
			}
			return tokSpread, "", nil
		case c == '"':
			return tokValue, "", l.string()
		case c == '-' || isDigit(c):
			l.pos++
			for l.pos < len(l.src) && (isDigit(l.src[l.pos]) || isNameStart(l.src[l.pos]) || strings.IndexByte(".+-", l.src[l.pos]) >= 0) {
				l.pos++
			}
			return tokValue, "", nil
		case strings.IndexByte("!$&():=@[]{}|", c) >= 0:
			l.pos++
			return rune(c), "", nil
		default:
			return 0, "", l.errorf(fmt.Sprintf("unexpected character %q", c))
		}
	}
	return tokEOF, "", nil
}

func (l *queryLexer) string() error {
	if strings.HasPrefix(l.src[l.pos:], `"""`) {
		end := strings.Index(l.src[l.pos+3:], `"""`)
		if end < 0 {
			return l.errorf("unterminated block string")
		}
		l.pos += 3 + end + 3
		return nil
	}
	for l.pos++; l.pos < len(l.src); l.pos++ {
		switch l.src[l.pos] {
		case '\\':
			l.pos++
		case '\n':
			return l.errorf("unterminated string")
		case '"':
			l.pos++
			return nil
		}
	}
	return l.errorf("unterminated string")
}

func (l *queryLexer) errorf(msg string) error {
	return fmt.Errorf("%w: %s at byte %d", errSyntax, msg, l.pos)
}

func isNameStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool     { return '0' <= c && c <= '9' }
