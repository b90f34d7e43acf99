// Package xl reads and writes Xen domain configuration files in the syntax
// of xl.cfg(5), as Xen's libxlutil (4.17) parses them.
//
// A file is a sequence of settings, one per line or separated by ';':
//
//	name = "rumprun"      # a string, in double or single quotes
//	memory = 256          # a number, kept as its text
//	vif = [ 'bridge=xenbr0', ]   # a list (it may span lines)
//	extra += "more"       # appends to a string or a list
//
// Keys are [a-z][._0-9a-z]*. Strings cannot span lines; inside them a
// backslash escapes the quote characters, the backslash itself and the
// control characters a b f n r t v. libxlutil 4.17 mis-parses numeric escapes
// (\x41 and \101), so Quote never writes them and Parse refuses them; every
// other byte except NUL and newline stands for itself. The last assignment
// of a key wins.
//
// Marshal writes a Config so that libxlutil reads back exactly the values it
// holds; Parse reads the same language, with errors that name the line.
package xl

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Kind is the type of a Value.
type Kind int

const (
	KindString Kind = iota // a quoted string
	KindNumber             // an unquoted number such as 256 or 0x1f
	KindList               // a bracketed list of values
)

// Value is a setting's value. xl itself reads numbers as strings; Kind keeps
// the difference only so that a file is written the way it was read.
type Value struct {
	Kind Kind
	S    string  // the string, or the number's text
	List []Value // the items of a list
}

// String returns a string value.
func String(s string) Value { return Value{Kind: KindString, S: s} }

// Number returns a number value.
func Number(n int64) Value { return Value{Kind: KindNumber, S: fmt.Sprint(n)} }

// List returns a list value.
func List(items ...Value) Value { return Value{Kind: KindList, List: append([]Value{}, items...)} }

// Strings returns a list of strings.
func Strings(items ...string) Value {
	v := Value{Kind: KindList, List: []Value{}}
	for _, s := range items {
		v.List = append(v.List, String(s))
	}
	return v
}

// Equal reports whether v and w hold the same value.
func (v Value) Equal(w Value) bool {
	if v.Kind != w.Kind || v.S != w.S || len(v.List) != len(w.List) {
		return false
	}
	for i := range v.List {
		if !v.List[i].Equal(w.List[i]) {
			return false
		}
	}
	return true
}

// Op is how a setting combines with earlier ones of the same key.
type Op int

const (
	Assign Op = iota // key = value
	Append           // key += value
)

// Setting is one "key = value" statement.
type Setting struct {
	Key     string
	Op      Op
	Value   Value
	Comment string // written as '#' lines before the setting; Parse does not keep comments
	Line    int    // line the setting starts on, when read by Parse
}

// Config is an xl configuration: its settings in file order.
type Config struct {
	Settings []Setting
}

// Set makes key's value v: it replaces the last setting of key (removing
// any later "+=" of it) or, when there is none, appends one.
func (c *Config) Set(key string, v Value) {
	last := -1
	for i, s := range c.Settings {
		if s.Key == key && s.Op == Assign {
			last = i
		}
	}
	if last < 0 {
		c.Settings = append(c.Settings, Setting{Key: key, Value: v})
		return
	}
	c.Settings[last].Value = v
	kept := c.Settings[:last+1]
	for _, s := range c.Settings[last+1:] {
		if s.Key != key {
			kept = append(kept, s)
		}
	}
	c.Settings = kept
}

// Get returns key's effective value, as xl sees it: the last assignment with
// every later "+=" applied.
func (c *Config) Get(key string) (Value, bool) {
	var v Value
	found := false
	for _, s := range c.Settings {
		if s.Key != key {
			continue
		}
		if s.Op == Assign || !found {
			v, found = s.Value, true
			continue
		}
		switch {
		case v.Kind == KindList && s.Value.Kind == KindList:
			v = List(append(append([]Value{}, v.List...), s.Value.List...)...)
		case v.Kind == KindList:
			v = List(append(append([]Value{}, v.List...), s.Value)...)
		case s.Value.Kind != KindList:
			v = String(v.S + s.Value.S)
		default: // a string plus a list: libxlutil keeps the string
		}
	}
	return v, found
}

// Keys returns the distinct keys of c in order of first appearance.
func (c *Config) Keys() []string {
	var keys []string
	seen := map[string]bool{}
	for _, s := range c.Settings {
		if !seen[s.Key] {
			seen[s.Key] = true
			keys = append(keys, s.Key)
		}
	}
	return keys
}

// ValidKey reports whether k is a key libxlutil accepts: [a-z][._0-9a-z]*.
func ValidKey(k string) bool {
	if k == "" || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 1; i < len(k); i++ {
		if !isKeyByte(k[i]) {
			return false
		}
	}
	return true
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_'
}

// validNumber reports whether n is a number token: a digit, then digits and
// lower-case letters (libxlutil's lexer accepts 256, 0x1f and also 1e3).
func validNumber(n string) bool {
	if n == "" || n[0] < '0' || n[0] > '9' {
		return false
	}
	for i := 1; i < len(n); i++ {
		c := n[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// escapes maps the bytes Quote escapes to the letter that follows the backslash.
var escapes = map[byte]byte{'\\': '\\', '\a': 'a', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't', '\v': 'v'}

// ErrNUL is returned for a string holding a NUL byte: xl strings are C strings.
var ErrNUL = errors.New("xl strings cannot hold a NUL byte")

// Quote returns s as an xl string literal that libxlutil reads back as s.
// It uses double quotes unless single quotes need fewer escapes (JSON text
// goes in single quotes, so its double quotes stay as they are).
func Quote(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", ErrNUL
	}
	q := byte('"')
	if strings.Count(s, `"`) > strings.Count(s, `'`) {
		q = '\''
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(q)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if e, ok := escapes[c]; ok {
			b.WriteByte('\\')
			b.WriteByte(e)
			continue
		}
		if c == q {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte(q)
	return b.String(), nil
}

// Format returns v in xl syntax. Lists are written on one line.
func (v Value) Format() (string, error) {
	switch v.Kind {
	case KindString:
		return Quote(v.S)
	case KindNumber:
		if !validNumber(v.S) {
			return "", fmt.Errorf("invalid xl number %q", v.S)
		}
		return v.S, nil
	case KindList:
		if len(v.List) == 0 {
			return "[]", nil
		}
		parts := make([]string, len(v.List))
		for i, item := range v.List {
			s, err := item.Format()
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return "[ " + strings.Join(parts, ", ") + " ]", nil
	}
	return "", fmt.Errorf("invalid xl value kind %d", v.Kind)
}

// Format returns the setting as one line without its comment.
func (s Setting) Format() (string, error) {
	if !ValidKey(s.Key) {
		return "", fmt.Errorf("invalid xl key %q (want [a-z][._0-9a-z]*)", s.Key)
	}
	v, err := s.Value.Format()
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.Key, err)
	}
	op := " = "
	if s.Op == Append {
		op = " += "
	}
	return s.Key + op + v, nil
}

// Marshal returns the file text of c: one setting per line, each comment
// line prefixed with "# ".
func (c *Config) Marshal() ([]byte, error) {
	var b bytes.Buffer
	for _, s := range c.Settings {
		line, err := s.Format()
		if err != nil {
			return nil, err
		}
		if s.Comment != "" {
			for _, l := range strings.Split(s.Comment, "\n") {
				b.WriteString(strings.TrimRight("# "+l, " "))
				b.WriteByte('\n')
			}
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}
