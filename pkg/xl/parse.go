package xl

import (
	"errors"
	"fmt"
	"strings"
)

// SyntaxError is a Parse error: where the text stops being xl.cfg syntax.
type SyntaxError struct {
	File string // as given to Parse; may be empty
	Line int    // 1-based
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// maxDepth bounds list nesting so that hostile input cannot exhaust the stack.
const maxDepth = 64

type parser struct {
	file string
	src  string
	off  int
	line int
}

// Parse reads xl configuration text. file names the source in errors.
// It accepts what libxlutil 4.17 accepts, except numeric string escapes,
// which that version mis-parses.
func Parse(file string, data []byte) (*Config, error) {
	p := &parser{file: file, src: string(data), line: 1}
	c := &Config{}
	for {
		p.skipBlank()
		if p.off >= len(p.src) {
			return c, nil
		}
		switch p.src[p.off] {
		case '\n':
			p.off++
			p.line++
			continue
		case ';':
			p.off++
			continue
		}
		s, err := p.setting()
		if err != nil {
			return nil, err
		}
		if s.Op == Append {
			if prev, ok := c.Get(s.Key); ok && (prev.Kind == KindList) != (s.Value.Kind == KindList) {
				return nil, p.errAt(s.Line, "cannot add a list to a string or a string to a list (%s)", s.Key)
			}
		}
		c.Settings = append(c.Settings, s)
		p.skipBlank()
		if p.off < len(p.src) {
			switch p.src[p.off] {
			case '\n', ';':
			default:
				return nil, p.errf("unexpected %s after the value of %s", p.describe(), s.Key)
			}
		}
	}
}

// ParseSetting reads one "key = value" (or "key += value") statement, as
// given to a launcher's -x option.
func ParseSetting(text string) (Setting, error) {
	c, err := Parse("", []byte(text))
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			return Setting{}, errors.New(se.Msg)
		}
		return Setting{}, err
	}
	if len(c.Settings) != 1 {
		return Setting{}, fmt.Errorf("want one \"key = value\" setting, found %d", len(c.Settings))
	}
	s := c.Settings[0]
	s.Line = 0
	return s, nil
}

func (p *parser) errAt(line int, format string, args ...any) error {
	return &SyntaxError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) errf(format string, args ...any) error {
	return p.errAt(p.line, format, args...)
}

// describe names the byte at the current offset for an error message.
func (p *parser) describe() string {
	if p.off >= len(p.src) {
		return "end of file"
	}
	c := p.src[p.off]
	switch {
	case c == '\n':
		return "end of line"
	case c == '\r':
		return "carriage return (xl files use Unix line ends)"
	case c > ' ' && c < 0x7f:
		return fmt.Sprintf("%q", string(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// skipBlank skips spaces, tabs and a comment, stopping at a newline.
func (p *parser) skipBlank() {
	for p.off < len(p.src) {
		switch p.src[p.off] {
		case ' ', '\t':
			p.off++
		case '#':
			for p.off < len(p.src) && p.src[p.off] != '\n' {
				p.off++
			}
		default:
			return
		}
	}
}

// skipSpace skips blanks, comments and newlines (inside a list).
func (p *parser) skipSpace() {
	for {
		p.skipBlank()
		if p.off < len(p.src) && p.src[p.off] == '\n' {
			p.off++
			p.line++
			continue
		}
		return
	}
}

func (p *parser) setting() (Setting, error) {
	s := Setting{Line: p.line}
	start := p.off
	if c := p.src[p.off]; c < 'a' || c > 'z' {
		return s, p.errf("expected a key ([a-z][._0-9a-z]*), found %s", p.describe())
	}
	for p.off < len(p.src) && isKeyByte(p.src[p.off]) {
		p.off++
	}
	s.Key = p.src[start:p.off]
	p.skipBlank()
	switch {
	case strings.HasPrefix(p.src[p.off:], "+="):
		s.Op = Append
		p.off += 2
	case strings.HasPrefix(p.src[p.off:], "="):
		p.off++
	default:
		return s, p.errf("expected = or += after %s, found %s", s.Key, p.describe())
	}
	p.skipBlank()
	v, err := p.value(0)
	if err != nil {
		return s, err
	}
	s.Value = v
	return s, nil
}

func (p *parser) value(depth int) (Value, error) {
	if p.off >= len(p.src) {
		return Value{}, p.errf("expected a value, found end of file")
	}
	c := p.src[p.off]
	switch {
	case c == '"' || c == '\'':
		s, err := p.str()
		return String(s), err
	case c >= '0' && c <= '9':
		start := p.off
		for p.off < len(p.src) && (p.src[p.off] >= '0' && p.src[p.off] <= '9' || p.src[p.off] >= 'a' && p.src[p.off] <= 'z') {
			p.off++
		}
		return Value{Kind: KindNumber, S: p.src[start:p.off]}, nil
	case c == '[':
		if depth >= maxDepth {
			return Value{}, p.errf("lists nested deeper than %d", maxDepth)
		}
		p.off++
		v := Value{Kind: KindList, List: []Value{}}
		for {
			p.skipSpace()
			if p.off < len(p.src) && p.src[p.off] == ']' {
				p.off++
				return v, nil
			}
			item, err := p.value(depth + 1)
			if err != nil {
				return v, err
			}
			v.List = append(v.List, item)
			p.skipSpace()
			if p.off >= len(p.src) {
				return v, p.errf("list not closed with ]")
			}
			switch p.src[p.off] {
			case ',':
				p.off++
			case ']':
			default:
				return v, p.errf("expected , or ] in list, found %s", p.describe())
			}
		}
	}
	return Value{}, p.errf("expected a string, a number or a list, found %s", p.describe())
}

// str reads a quoted string at the current offset and returns its value.
func (p *parser) str() (string, error) {
	q := p.src[p.off]
	p.off++
	var b strings.Builder
	for {
		if p.off >= len(p.src) {
			return "", p.errf("string not closed with %c", q)
		}
		c := p.src[p.off]
		switch c {
		case q:
			p.off++
			return b.String(), nil
		case '\n':
			return "", p.errf("string not closed with %c before the end of the line (write a newline as \\n)", q)
		case 0:
			return "", p.errf("NUL byte in string")
		case '\\':
			if p.off+1 >= len(p.src) || p.src[p.off+1] == '\n' {
				return "", p.errf("string not closed with %c", q)
			}
			e := p.src[p.off+1]
			p.off += 2
			switch e {
			case '"', '\'', '\\':
				b.WriteByte(e)
			case 'a':
				b.WriteByte('\a')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'v':
				b.WriteByte('\v')
			case 'x', '0', '1', '2', '3', '4', '5', '6', '7':
				return "", p.errf("numeric escape \\%c in string: libxlutil 4.17 mis-reads these; write the byte itself", e)
			default:
				return "", p.errf("invalid escape \\%c in string (valid: \\\\ \\\" \\' \\a \\b \\f \\n \\r \\t \\v)", e)
			}
		default:
			b.WriteByte(c)
			p.off++
		}
	}
}
