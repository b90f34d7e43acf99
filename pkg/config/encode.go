package config

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Canonical returns c as indented canonical JSON: keys in a fixed order
// ($schema, hostname, cmdline, rc, env, net, blk), "net" and "blk" always as
// arrays, static addresses as address/prefix, and a trailing newline.
// Equal configs give equal bytes.
func (c *Config) Canonical() ([]byte, error) {
	var b bytes.Buffer
	w := &objWriter{b: &b, indent: "  ", depth: 1, first: []bool{true}}
	b.WriteString("{")
	if c.Schema != "" {
		w.key("$schema")
		writeString(&b, c.Schema)
	}
	if c.Hostname != "" {
		w.key("hostname")
		writeString(&b, c.Hostname)
	}
	if c.Cmdline != "" {
		w.key("cmdline")
		writeString(&b, c.Cmdline)
	}
	if c.RC != nil {
		w.key("rc")
		w.array(len(c.RC), func(i int) {
			r := c.RC[i]
			w.object(func() {
				w.key("bin")
				writeString(&b, r.Bin)
				w.key("argv")
				b.WriteString("[")
				for j, a := range r.Argv {
					if j > 0 {
						b.WriteString(", ")
					}
					writeString(&b, a)
				}
				b.WriteString("]")
				if r.Runmode != "" {
					w.key("runmode")
					writeString(&b, r.Runmode)
				}
			})
		})
	}
	if c.Env != nil {
		w.key("env")
		w.object(func() {
			for _, e := range c.Env {
				w.key(e.Name)
				writeString(&b, e.Value)
			}
		})
	}
	if c.Net != nil {
		w.key("net")
		w.array(len(c.Net), func(i int) {
			n := c.Net[i]
			w.object(func() {
				w.field("if", n.If)
				if n.Cloner {
					w.key("cloner")
					b.WriteString("true")
				}
				w.field("type", n.Type)
				w.field("method", n.Method)
				w.field("addr", n.Addr)
				w.field("gw", n.Gw)
			})
		})
	}
	if c.Blk != nil {
		w.key("blk")
		w.array(len(c.Blk), func(i int) {
			k := c.Blk[i]
			w.object(func() {
				w.field("source", k.Source)
				w.field("path", k.Path)
				w.field("fstype", k.Fstype)
				w.field("mountpoint", k.Mountpoint)
			})
		})
	}
	w.close("}")
	b.WriteString("\n")
	return b.Bytes(), nil
}

// objWriter writes indented JSON objects and arrays with commas between
// members; first tracks whether the current container is still empty.
type objWriter struct {
	b      *bytes.Buffer
	indent string
	depth  int
	first  []bool
}

func (w *objWriter) newline() {
	w.b.WriteByte('\n')
	w.b.WriteString(strings.Repeat(w.indent, w.depth))
}

func (w *objWriter) sep() {
	if len(w.first) == 0 {
		w.first = append(w.first, true)
	}
	if !w.first[len(w.first)-1] {
		w.b.WriteByte(',')
	}
	w.first[len(w.first)-1] = false
	w.newline()
}

func (w *objWriter) key(k string) {
	w.sep()
	writeString(w.b, k)
	w.b.WriteString(": ")
}

func (w *objWriter) field(k, v string) {
	if v != "" {
		w.key(k)
		writeString(w.b, v)
	}
}

func (w *objWriter) open(c string) {
	w.b.WriteString(c)
	w.depth++
	w.first = append(w.first, true)
}

func (w *objWriter) close(c string) {
	empty := len(w.first) > 0 && w.first[len(w.first)-1]
	if len(w.first) > 0 {
		w.first = w.first[:len(w.first)-1]
	}
	w.depth--
	if !empty {
		w.newline()
	}
	w.b.WriteString(c)
}

func (w *objWriter) object(body func()) {
	w.open("{")
	body()
	w.close("}")
}

func (w *objWriter) array(n int, elem func(int)) {
	w.open("[")
	for i := 0; i < n; i++ {
		w.sep()
		elem(i)
	}
	w.close("]")
}

// writeString writes s as a JSON string, escaping only what JSON requires.
func writeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(b, `\u%04x`, c)
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b.WriteString(`\ufffd`)
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
			continue
		default:
			b.WriteByte(c)
		}
		i++
	}
	b.WriteByte('"')
}

// Wire lowers c to the rumprun dialect that every existing rumprun kernel
// reads: one line, "net" and "blk" as repeated keys holding objects, every
// value a string ("cloner": "true", "mask": "24"), "env" as repeated
// "NAME=value" strings, "$schema" dropped, and "rc" entries always with
// "argv". Those kernels do not decode JSON escapes, so a value containing
// '"', '\\' or a control character is refused (an ErrorList naming each).
// The byte count that the target limits (4095 on hw) apply to is len(result).
func (c *Config) Wire() ([]byte, error) {
	var b bytes.Buffer
	var errs ErrorList
	str := func(ptr, s string) {
		if bad, ok := needsEscape(s); ok {
			errs = append(errs, c.at(ptr, false, false, "%s contains %s, which rumprun kernels would receive as a JSON escape, not the character: not representable in the wire form", describeAt(ptr), bad))
		}
		b.WriteByte('"')
		b.WriteString(s)
		b.WriteByte('"')
	}
	field := func(ptr, k, v string, comma bool) {
		if comma {
			b.WriteByte(',')
		}
		b.WriteString(`"` + k + `":`)
		str(ptr+"/"+k, v)
	}
	b.WriteByte('{')
	n := 0
	next := func() {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
	}
	if c.Hostname != "" {
		next()
		field("", "hostname", c.Hostname, false)
	}
	if c.Cmdline != "" {
		next()
		field("", "cmdline", c.Cmdline, false)
	}
	if c.RC != nil {
		next()
		b.WriteString(`"rc":[`)
		for i, r := range c.RC {
			p := "/rc/" + strconv.Itoa(i)
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('{')
			field(p, "bin", r.Bin, false)
			b.WriteString(`,"argv":[`)
			for j, a := range r.Argv {
				if j > 0 {
					b.WriteByte(',')
				}
				str(p+"/argv/"+strconv.Itoa(j), a)
			}
			b.WriteByte(']')
			if r.Runmode != "" {
				field(p, "runmode", r.Runmode, true)
			}
			b.WriteByte('}')
		}
		b.WriteByte(']')
	}
	for _, e := range c.Env {
		next()
		b.WriteString(`"env":`)
		str("/env/"+pointerEscape(e.Name), e.Name+"="+e.Value)
	}
	for i, nt := range c.Net {
		p := "/net/" + strconv.Itoa(i)
		next()
		b.WriteString(`"net":{`)
		field(p, "if", nt.If, false)
		if nt.Cloner {
			b.WriteString(`,"cloner":"true"`)
		}
		field(p, "type", nt.Type, true)
		field(p, "method", nt.Method, true)
		if nt.Addr != "" {
			addr, bits, err := splitPrefix(nt.Addr)
			if err != nil {
				errs = append(errs, c.at(p+"/addr", false, false, "%v", err))
			}
			field(p, "addr", addr, true)
			field(p, "mask", bits, true)
		}
		if nt.Gw != "" {
			field(p, "gw", nt.Gw, true)
		}
		b.WriteByte('}')
	}
	for i, k := range c.Blk {
		p := "/blk/" + strconv.Itoa(i)
		next()
		b.WriteString(`"blk":{`)
		field(p, "source", k.Source, false)
		field(p, "path", k.Path, true)
		if k.Fstype != "" {
			field(p, "fstype", k.Fstype, true)
		}
		if k.Mountpoint != "" {
			field(p, "mountpoint", k.Mountpoint, true)
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
	if len(errs) > 0 {
		return nil, errs
	}
	return b.Bytes(), nil
}

func splitPrefix(s string) (addr, bits string, err error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return s, "", fmt.Errorf("invalid address %q: want address/prefix length", s)
	}
	return p.Addr().String(), strconv.Itoa(p.Bits()), nil
}

// needsEscape reports the first character of s that JSON would escape.
func needsEscape(s string) (string, bool) {
	for _, r := range s {
		switch {
		case r == '"':
			return `'"'`, true
		case r == '\\':
			return `'\'`, true
		case r < 0x20 || r == 0x7f:
			return fmt.Sprintf("the control character %U", r), true
		case r == utf8.RuneError:
			return "invalid UTF-8", true
		}
	}
	return "", false
}
