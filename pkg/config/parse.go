package config

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits on what Parse reads. A json.cfg is a few hundred bytes; a rumprun
// kernel refuses anything over 64 KiB, so 1 MiB is generous while keeping
// memory bounded for a mistaken or hostile input.
const (
	MaxSize  = 1 << 20 // bytes
	MaxDepth = 32      // nested objects and arrays
)

// kind is the JSON type of a node.
type kind uint8

const (
	kObject kind = iota
	kArray
	kString
	kNumber
	kBool
	kNull
)

func (k kind) String() string {
	switch k {
	case kObject:
		return "object"
	case kArray:
		return "array"
	case kString:
		return "string"
	case kNumber:
		return "number"
	case kBool:
		return "boolean"
	}
	return "null"
}

// pos is a 1-based line and byte column.
type pos struct{ line, col int }

// node is one JSON value with its position. Objects keep every member in
// source order, duplicates included: deciding what a repeated key means is
// the dialect normaliser's job, not the parser's.
type node struct {
	kind  kind
	pos   pos
	str   string // string value, or a number's source text
	b     bool
	mem   []member
	elems []*node
	depth int
}

type member struct {
	key    string
	keyPos pos
	val    *node
}

// syntaxError stops the parse; the parser cannot recover meaningfully.
type syntaxError struct {
	pos pos
	msg string
}

// parser is a small strict JSON parser that also accepts the stray commas of
// the rumprun dialect (reported as warnings). It exists because
// encoding/json reports neither duplicate keys nor line:column positions.
type parser struct {
	data      []byte
	off       int
	line      int
	lineStart int
	warn      []diag // positions of stray commas
	err       *syntaxError
}

// diag is a position-carrying message before it becomes a Diagnostic.
type diag struct {
	pos     pos
	ptr     string
	msg     string
	warning bool
}

// parseDocument parses data into a tree. It checks size, NUL bytes and
// UTF-8 first so that every later error can assume well-formed text.
func parseDocument(data []byte) (*node, []diag, *syntaxError) {
	if len(data) > MaxSize {
		return nil, nil, &syntaxError{pos{1, 1}, fmt.Sprintf("file too large: %d bytes (limit %d)", len(data), MaxSize)}
	}
	if e := checkText(data); e != nil {
		return nil, nil, e
	}
	p := &parser{data: data, line: 1}
	var warns []diag
	if len(data) >= 3 && data[0] == 0xef && data[1] == 0xbb && data[2] == 0xbf {
		warns = append(warns, diag{pos: pos{1, 1}, msg: "byte order mark ignored", warning: true})
		p.off = 3
		p.lineStart = 3
	}
	p.skipSpace()
	if p.off == len(data) {
		return nil, nil, &syntaxError{p.pos(), "empty file: expected a JSON object"}
	}
	if c := data[p.off]; c != '{' {
		at := p.pos()
		v := p.value(0)
		if p.err != nil {
			return nil, nil, p.err
		}
		return nil, nil, &syntaxError{at, fmt.Sprintf("json.cfg must be a JSON object, not %s %s", article(v.kind), v.kind)}
	}
	root := p.value(0)
	if p.err != nil {
		return nil, nil, p.err
	}
	// The rumprun script ends its output with "}, ": accept trailing commas.
	for {
		p.skipSpace()
		if p.off < len(data) && data[p.off] == ',' {
			p.trailingComma(p.pos())
			p.off++
			continue
		}
		break
	}
	if p.off < len(data) {
		return nil, nil, &syntaxError{p.pos(), "unexpected data after the top-level object"}
	}
	return root, append(warns, p.warn...), nil
}

func article(k kind) string {
	if k == kObject || k == kArray {
		return "an"
	}
	return "a"
}

// checkText rejects NUL bytes and invalid UTF-8, naming the first offender.
func checkText(data []byte) *syntaxError {
	line, lineStart := 1, 0
	for i := 0; i < len(data); {
		c := data[i]
		if c == '\n' {
			line, lineStart = line+1, i+1
			i++
			continue
		}
		if c == 0 {
			return &syntaxError{pos{line, i - lineStart + 1}, "NUL byte in input"}
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			return &syntaxError{pos{line, i - lineStart + 1}, fmt.Sprintf("invalid UTF-8 (byte 0x%02x)", c)}
		}
		i += n
	}
	return nil
}

func (p *parser) pos() pos { return pos{p.line, p.off - p.lineStart + 1} }

func (p *parser) fail(at pos, format string, args ...any) {
	if p.err == nil {
		p.err = &syntaxError{at, fmt.Sprintf(format, args...)}
	}
}

func (p *parser) skipSpace() {
	for p.off < len(p.data) {
		switch p.data[p.off] {
		case '\n':
			p.line++
			p.lineStart = p.off + 1
		case ' ', '\t', '\r':
		default:
			return
		}
		p.off++
	}
}

func (p *parser) trailingComma(at pos) {
	p.warn = append(p.warn, diag{pos: at, msg: "trailing comma ignored (rumprun dialect)", warning: true})
}

func (p *parser) strayComma() {
	p.warn = append(p.warn, diag{pos: p.pos(), msg: "extra comma ignored (rumprun dialect)", warning: true})
	p.off++
}

// describe names the byte at the current offset for an error message.
func (p *parser) describe() string {
	if p.off >= len(p.data) {
		return "end of input"
	}
	r, _ := utf8.DecodeRune(p.data[p.off:])
	if r < 0x20 || r == 0x7f {
		return fmt.Sprintf("control character %U", r)
	}
	return strconv.QuoteRune(r)
}

func (p *parser) value(depth int) *node {
	if depth >= MaxDepth {
		p.fail(p.pos(), "nesting deeper than %d levels", MaxDepth)
		return nil
	}
	p.skipSpace()
	at := p.pos()
	if p.off >= len(p.data) {
		p.fail(at, "unexpected end of input: expected a value")
		return nil
	}
	switch c := p.data[p.off]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, ok := p.string()
		if !ok {
			return nil
		}
		return &node{kind: kString, pos: at, str: s, depth: depth}
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.literal("true", &node{kind: kBool, pos: at, b: true, depth: depth})
	case c == 'f':
		return p.literal("false", &node{kind: kBool, pos: at, depth: depth})
	case c == 'n':
		return p.literal("null", &node{kind: kNull, pos: at, depth: depth})
	}
	p.fail(at, "unexpected %s: expected a value", p.describe())
	return nil
}

func (p *parser) literal(word string, n *node) *node {
	if len(p.data)-p.off < len(word) || string(p.data[p.off:p.off+len(word)]) != word {
		p.fail(p.pos(), "unexpected %s: expected a value (strings need double quotes)", p.describe())
		return nil
	}
	p.off += len(word)
	if p.off < len(p.data) && isWordByte(p.data[p.off]) {
		p.fail(n.pos, "unexpected %s: expected a value (strings need double quotes)", strconv.Quote(string(p.data[n.pos.col-1+p.lineStart:p.off+1])))
		return nil
	}
	return n
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (p *parser) object(depth int) *node {
	n := &node{kind: kObject, pos: p.pos(), depth: depth}
	p.off++ // '{'
	return p.members(n, '}', "object", "object member", func() bool {
		if p.data[p.off] != '"' {
			p.fail(p.pos(), "unexpected %s: expected a key in double quotes", p.describe())
			return false
		}
		keyPos := p.pos()
		key, ok := p.string()
		if !ok {
			return false
		}
		p.skipSpace()
		if p.off >= len(p.data) || p.data[p.off] != ':' {
			p.fail(p.pos(), "unexpected %s: expected ':' after key %s", p.describe(), strconv.Quote(key))
			return false
		}
		p.off++
		v := p.value(depth + 1)
		if v == nil {
			return false
		}
		n.mem = append(n.mem, member{key, keyPos, v})
		return true
	})
}

func (p *parser) array(depth int) *node {
	n := &node{kind: kArray, pos: p.pos(), depth: depth}
	p.off++ // '['
	return p.members(n, ']', "array", "array element", func() bool {
		v := p.value(depth + 1)
		if v == nil {
			return false
		}
		n.elems = append(n.elems, v)
		return true
	})
}

// members reads the comma-separated members of the object or array n up
// to its closing byte, past the opening one; the dialect's stray and
// trailing commas are warnings. elem reads one member at p.off and reports
// whether it could.
func (p *parser) members(n *node, closing byte, kind, member string, elem func() bool) *node {
	needComma, sepPending, sepPos := false, false, pos{}
	for {
		p.skipSpace()
		if p.off >= len(p.data) {
			p.fail(p.pos(), "unexpected end of input: %s opened at %d:%d is not closed", kind, n.pos.line, n.pos.col)
			return nil
		}
		c := p.data[p.off]
		switch {
		case c == closing:
			if sepPending {
				p.trailingComma(sepPos)
			}
			p.off++
			return n
		case c == ',':
			if needComma {
				needComma, sepPending, sepPos = false, true, p.pos()
				p.off++
				continue
			}
			p.strayComma()
			continue
		case needComma:
			p.fail(p.pos(), "unexpected %s: expected ',' or '%c' after %s", p.describe(), closing, member)
			return nil
		}
		if !elem() {
			return nil
		}
		needComma, sepPending = true, false
	}
}

// string reads a JSON string at p.off (which holds '"') and decodes it.
func (p *parser) string() (string, bool) {
	start := p.pos()
	p.off++
	var buf []byte
	plain := p.off // start of the current run without escapes
	for {
		if p.off >= len(p.data) {
			p.fail(start, "unexpected end of input: string is not closed")
			return "", false
		}
		c := p.data[p.off]
		switch {
		case c == '"':
			var s string
			if buf == nil {
				s = string(p.data[plain:p.off])
			} else {
				s = string(append(buf, p.data[plain:p.off]...))
			}
			p.off++
			return s, true
		case c < 0x20 || c == 0x7f:
			p.fail(p.pos(), "control character %U in string (write it as an escape, e.g. \\n or \\u%04x)", rune(c), c)
			return "", false
		case c == '\\':
			buf = append(buf, p.data[plain:p.off]...)
			esc := p.pos()
			if p.off+1 >= len(p.data) {
				p.fail(p.pos(), "unexpected end of input: string is not closed")
				return "", false
			}
			e := p.data[p.off+1]
			p.off += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := p.hex4(esc)
				if !ok {
					return "", false
				}
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if p.off+1 < len(p.data) && p.data[p.off] == '\\' && p.data[p.off+1] == 'u' {
						p.off += 2
						if r2, ok = p.hex4(esc); !ok {
							return "", false
						}
					}
					if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
						p.fail(esc, "invalid UTF-16 surrogate pair in \\u escape")
						return "", false
					}
				}
				if r == 0 {
					p.fail(esc, "NUL character (\\u0000) in string: no kernel can receive it")
					return "", false
				}
				buf = utf8.AppendRune(buf, r)
			default:
				p.off -= 2
				p.fail(esc, "invalid escape %s in string", strconv.Quote(string([]byte{'\\', e})))
				return "", false
			}
			plain = p.off
		default:
			p.off++
		}
	}
}

func (p *parser) hex4(esc pos) (rune, bool) {
	if len(p.data)-p.off < 4 {
		p.fail(esc, "invalid \\u escape: need four hex digits")
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.data[p.off:p.off+4]), 16, 32)
	if err != nil {
		p.fail(esc, "invalid \\u escape: need four hex digits")
		return 0, false
	}
	p.off += 4
	return rune(v), true
}

func (p *parser) number() *node {
	at := p.pos()
	start := p.off
	d := p.data
	i := p.off
	if d[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		return i - j
	}
	bad := func() *node {
		for i < len(d) && (isWordByte(d[i]) || d[i] == '.' || d[i] == '+' || d[i] == '-') {
			i++
		}
		p.fail(at, "invalid number %s", strconv.Quote(string(d[start:i])))
		return nil
	}
	if i < len(d) && d[i] == '0' {
		i++
		if i < len(d) && d[i] >= '0' && d[i] <= '9' {
			return bad()
		}
	} else if digits() == 0 {
		return bad()
	}
	if i < len(d) && d[i] == '.' {
		i++
		if digits() == 0 {
			return bad()
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if digits() == 0 {
			return bad()
		}
	}
	if i < len(d) && isWordByte(d[i]) {
		return bad()
	}
	p.off = i
	return &node{kind: kNumber, pos: at, str: string(d[start:i])}
}
