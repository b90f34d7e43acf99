package bake

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ConfVersion is the rumprun-bake.conf format version this package reads.
const ConfVersion = "20160209"

// Config is one bake config: a named list of components to link.
type Config struct {
	Name        string
	Description string
	Components  []string // linker arguments, usually -lrump...; in link order
	Created     Pos      // where create ran
}

// Private reports whether the config is a building block that cannot be
// baked or listed (its name starts with '_').
func (c *Config) Private() bool { return strings.HasPrefix(c.Name, "_") }

// Platform returns the rumprun platform a public config is for: its name
// up to the first '_' (hw_generic: hw), or "" when the name has no '_'.
func (c *Config) Platform() string {
	p, _, ok := strings.Cut(c.Name, "_")
	if !ok {
		return ""
	}
	return p
}

// Pos is a position in a config file.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// SyntaxError is an error in a config file or a -m command.
type SyntaxError struct {
	Pos Pos
	Msg string
}

func (e *SyntaxError) Error() string {
	if e.Pos.Line == 0 {
		return e.Pos.File + ": " + e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// Set is the configs defined by the files read so far.
type Set struct {
	configs map[string]*Config
	order   []string // names in creation order
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{configs: map[string]*Config{}} }

// Lookup returns the named config, or nil.
func (s *Set) Lookup(name string) *Config { return s.configs[name] }

// Public returns the configs that can be baked, in the order they were created.
func (s *Set) Public() []*Config {
	var out []*Config
	for _, n := range s.order {
		if c := s.configs[n]; c != nil && !c.Private() {
			out = append(out, c)
		}
	}
	return out
}

// word is one token with the position of its first character.
type word struct {
	text string
	pos  Pos
}

// Parse reads a rumprun-bake.conf file and applies it to the set. name is
// used in error messages. The file's first directive must be
// "version 20160209"; then come conf NAME ... fnoc blocks.
func (s *Set) Parse(name string, r io.Reader) error {
	lines, err := readDirectives(name, r)
	if err != nil {
		return err
	}
	var cur *word // the open conf block's name
	sawVersion := false
	for _, ws := range lines {
		dir := ws[0]
		args := ws[1:]
		if !sawVersion {
			if dir.text != "version" {
				return &SyntaxError{dir.pos, fmt.Sprintf("expected \"version %s\" before %q", ConfVersion, dir.text)}
			}
			if len(args) != 1 {
				return &SyntaxError{dir.pos, "version takes one argument"}
			}
			if args[0].text != ConfVersion {
				return &SyntaxError{args[0].pos, fmt.Sprintf("unsupported version %q (rump-bake reads %s)", args[0].text, ConfVersion)}
			}
			sawVersion = true
			continue
		}
		switch dir.text {
		case "version":
			return &SyntaxError{dir.pos, "version given twice"}
		case "conf":
			if cur != nil {
				return &SyntaxError{dir.pos, fmt.Sprintf("conf inside conf %s (missing fnoc?)", cur.text)}
			}
			if len(args) != 1 {
				return &SyntaxError{dir.pos, "conf takes one config name"}
			}
			if !validName(args[0].text) {
				return &SyntaxError{args[0].pos, fmt.Sprintf("invalid config name %q (letters, digits and _ only)", args[0].text)}
			}
			w := args[0]
			cur = &w
		case "fnoc":
			if cur == nil {
				return &SyntaxError{dir.pos, "fnoc without conf"}
			}
			if len(args) != 0 {
				return &SyntaxError{args[0].pos, "fnoc takes no arguments"}
			}
			cur = nil
		default:
			if !isCommand(dir.text) {
				return &SyntaxError{dir.pos, fmt.Sprintf("unknown directive %q", dir.text)}
			}
			if cur == nil {
				return &SyntaxError{dir.pos, fmt.Sprintf("%s outside a conf ... fnoc block", dir.text)}
			}
			if err := s.apply(cur.text, dir, args); err != nil {
				return err
			}
		}
	}
	if cur != nil {
		return &SyntaxError{cur.pos, fmt.Sprintf("conf %s is not closed by fnoc", cur.text)}
	}
	if !sawVersion {
		return &SyntaxError{Pos{File: name}, fmt.Sprintf("empty config file (expected \"version %s\")", ConfVersion)}
	}
	return nil
}

// Modify applies one command (create, add, remove, assimilate, nuke), as
// rump-bake's -m gives it, to the named config. src names the command in
// error messages (e.g. "-m #1").
func (s *Set) Modify(config, cmd, src string) error {
	lines, err := readDirectives(src, strings.NewReader(cmd))
	if err != nil {
		return err
	}
	if len(lines) != 1 {
		return &SyntaxError{Pos{File: src}, fmt.Sprintf("want exactly one command, got %d", len(lines))}
	}
	dir, args := lines[0][0], lines[0][1:]
	if !isCommand(dir.text) {
		return &SyntaxError{dir.pos, fmt.Sprintf("unknown command %q (want create, add, remove, assimilate or nuke)", dir.text)}
	}
	return s.apply(config, dir, args)
}

func isCommand(s string) bool {
	switch s {
	case "create", "add", "remove", "assimilate", "nuke":
		return true
	}
	return false
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// apply runs one command inside conf name.
func (s *Set) apply(name string, dir word, args []word) error {
	c := s.configs[name]
	if dir.text != "create" && c == nil {
		return &SyntaxError{dir.pos, fmt.Sprintf("%s: config %s does not exist (create it first)", dir.text, name)}
	}
	switch dir.text {
	case "create":
		if len(args) != 1 {
			return &SyntaxError{dir.pos, "create takes one argument, the description (quote it)"}
		}
		if c != nil {
			return &SyntaxError{dir.pos, fmt.Sprintf("config %s already exists (created at %s)", name, c.Created)}
		}
		s.configs[name] = &Config{Name: name, Description: args[0].text, Created: dir.pos}
		s.order = append(s.order, name)
	case "add":
		if len(args) == 0 {
			return &SyntaxError{dir.pos, "add needs at least one component"}
		}
		for _, a := range args {
			c.add(a.text)
		}
	case "remove":
		if len(args) == 0 {
			return &SyntaxError{dir.pos, "remove needs at least one component"}
		}
		for _, a := range args {
			i := slices.Index(c.Components, a.text)
			if i < 0 {
				return &SyntaxError{a.pos, fmt.Sprintf("remove: %s is not in config %s", a.text, name)}
			}
			c.Components = slices.Delete(c.Components, i, i+1)
		}
	case "assimilate":
		if len(args) == 0 {
			return &SyntaxError{dir.pos, "assimilate needs at least one config name"}
		}
		for _, a := range args {
			o := s.configs[a.text]
			if o == nil {
				return &SyntaxError{a.pos, fmt.Sprintf("assimilate: no config %s", a.text)}
			}
			if o == c {
				return &SyntaxError{a.pos, fmt.Sprintf("assimilate: config %s cannot assimilate itself", name)}
			}
			for _, comp := range o.Components {
				c.add(comp)
			}
		}
	case "nuke":
		if len(args) != 0 {
			return &SyntaxError{args[0].pos, "nuke takes no arguments"}
		}
		c.Components = nil
	}
	return nil
}

// add appends a component unless the config has it already: linking an
// archive twice with --whole-archive would define its symbols twice.
func (c *Config) add(comp string) {
	if !slices.Contains(c.Components, comp) {
		c.Components = append(c.Components, comp)
	}
}

// readDirectives splits a config file into directives, one per logical
// line: a backslash at the end of a line continues it; '#' at the start of
// a word starts a comment; words are separated by blanks; "..." and '...'
// quote (inside "...", \" and \\ escape).
func readDirectives(name string, r io.Reader) ([][]word, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var out [][]word
	var cur []word
	var tok strings.Builder
	var tokPos Pos
	inTok := false
	lineNo := 0
	cont := false // the previous physical line ended in a backslash
	flush := func() {
		if inTok {
			cur = append(cur, word{tok.String(), tokPos})
			tok.Reset()
			inTok = false
		}
	}
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		cont = false
		for i := 0; i < len(line); i++ {
			c := line[i]
			pos := Pos{name, lineNo, i + 1}
			switch {
			case c == '\\' && i == len(line)-1:
				cont = true
			case c == ' ' || c == '\t' || c == '\r':
				flush()
			case c == '#' && !inTok:
				i = len(line) // comment to end of line
			case c == '"' || c == '\'':
				if !inTok {
					inTok, tokPos = true, pos
				}
				j := i + 1
				for ; j < len(line) && line[j] != c; j++ {
					if c == '"' && line[j] == '\\' && j+1 < len(line) && (line[j+1] == '"' || line[j+1] == '\\') {
						j++
					}
					tok.WriteByte(line[j])
				}
				if j == len(line) {
					return nil, &SyntaxError{pos, fmt.Sprintf("unterminated %c quote", c)}
				}
				i = j
			case c == '\\':
				if !inTok {
					inTok, tokPos = true, pos
				}
				i++
				tok.WriteByte(line[i])
			default:
				if !inTok {
					inTok, tokPos = true, pos
				}
				tok.WriteByte(c)
			}
		}
		if cont {
			continue
		}
		flush()
		if len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	flush()
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out, nil
}
