package probe

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Result is what a probe kernel reported on its console.
type Result struct {
	Output []byte // the command's standard output, as it was
	Stderr []byte // the command's standard error (Boot, Run)

	Loader     string // boot loader name; "" when the loader gave none ("-")
	Cmdline    string // the command line as the kernel received it (QEMU and GRUB put the kernel's file name and a space first)
	HasCmdline bool
	Modules    []Module

	MemLowerKiB, MemUpperKiB int // -1 when the loader gave no memory information
	PCI                      []PCIFunction
	Ended                    bool // "probe: end" was printed

	Markers         []string // the "===" lines and "halted", in order
	Calls           []Call   // the programs whose main() was called, in order
	ExitStatus      int      // N of "=== _exit(N) called ===", -1 if none
	BootstrapFailed bool     // "=== bootstrap failed" was printed
	Halted          bool     // "halted" was printed
	Other           []string // lines that are neither probe lines nor markers

	// Filled by Boot and Run.
	ProcessExit int           // exit status of QEMU or the command; -1 if killed by a signal
	Killed      bool          // Run stopped the command because it kept running after the probe halted
	Duration    time.Duration // wall time from start to exit
	UntilDone   time.Duration // wall time from start until "halted" or "=== bootstrap failed" was printed; 0 if never
}

// Module is one multiboot module the probe was given.
type Module struct {
	Size       int
	String     string // the module's string (QEMU: its whole -initrd entry, path first)
	Gzip       bool   // gzip: Cpio, CpioError, JSONCfg and JSON describe the decompressed data
	Cpio       []CpioEntry
	CpioError  string // the probe's message when the archive (or gzip stream) is damaged ("gzip: ..." for gzip errors), or refused ("entry N NAME: why")
	JSONCfg    []byte // content of the last json.cfg or ./json.cfg (see initrd.NameRule)
	HasJSONCfg bool
	JSON       []byte // the module's content when it is JSON text (first non-blank byte '{')
}

// CpioEntry is one newc archive member (the TRAILER!!! entries are not listed).
type CpioEntry struct {
	Mode uint32
	Size int64
	Name string
}

// PCIFunction is one PCI function on bus 0.
type PCIFunction struct {
	Bus, Slot, Func int
	Vendor, Device  uint16
	Class           uint32 // class, subclass, programming interface
}

func (p PCIFunction) String() string {
	return fmt.Sprintf("%02x:%02x.%x %04x:%04x %06x", p.Bus, p.Slot, p.Func, p.Vendor, p.Device, p.Class)
}

// Call is one program's main() as the markers show it.
type Call struct {
	Name     string
	Returned int // -1 if main() did not return
}

// ParseError reports a malformed probe line.
type ParseError struct {
	Line int    // 1-based line number in the output
	Text string // the line
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("probe output line %d: %s: %q", e.Line, e.Msg, e.Text)
}

// Parse decodes a probe kernel's console output. Lines that start with
// "probe: " must be well formed; lines other than probe lines and
// markers are kept in Other. On error it returns what it decoded so far.
func Parse(out []byte) (*Result, error) {
	r := &Result{Output: out, MemLowerKiB: -1, MemUpperKiB: -1, ExitStatus: -1}
	lines := bytes.Split(out, []byte("\n"))
	for i, b := range lines {
		// Boot loaders (GRUB) leave carriage returns anywhere on a line; the
		// probe escapes its own, so a raw one is never part of a fact.
		line := strings.ReplaceAll(string(b), "\r", "")
		if i == len(lines)-1 && line == "" {
			break
		}
		if err := r.parseLine(line); err != "" {
			return r, &ParseError{Line: i + 1, Text: line, Msg: err}
		}
	}
	return r, nil
}

func (r *Result) parseLine(line string) string {
	switch {
	case strings.HasPrefix(line, "probe: "):
		return r.parseProbe(line[len("probe: "):])
	case line == "halted":
		r.Markers = append(r.Markers, line)
		r.Halted = true
	case strings.HasPrefix(line, "=== "):
		r.Markers = append(r.Markers, line)
		return r.parseMarker(line)
	default:
		r.Other = append(r.Other, line)
	}
	return ""
}

func (r *Result) parseMarker(line string) string {
	if line == "=== bootstrap failed" {
		r.BootstrapFailed = true
		return ""
	}
	body, ok := strings.CutSuffix(line[len("=== "):], " ===")
	if !ok {
		return "" // some other console line in rumprun's style
	}
	if name, ok := cutQuoted(body, "calling \"", "\" main()"); ok {
		r.Calls = append(r.Calls, Call{Name: name, Returned: -1})
		return ""
	}
	if rest, ok := strings.CutPrefix(body, "main() of \""); ok {
		name, n, ok := strings.Cut(rest, "\" returned ")
		if !ok {
			return "malformed main() marker"
		}
		v, err := strconv.Atoi(n)
		if err != nil {
			return "malformed return value"
		}
		for k := len(r.Calls) - 1; k >= 0; k-- {
			if r.Calls[k].Name == name && r.Calls[k].Returned == -1 {
				r.Calls[k].Returned = v
				return ""
			}
		}
		return "main() returned without a call"
	}
	rest, ok := strings.CutPrefix(body, "_exit(")
	if !ok {
		rest, ok = strings.CutPrefix(body, "ERROR: _exit(")
	}
	if ok {
		n, ok := strings.CutSuffix(rest, ") called")
		v, err := strconv.Atoi(n)
		if !ok || err != nil {
			return "malformed _exit marker"
		}
		r.ExitStatus = v
	}
	return ""
}

func cutQuoted(s, prefix, suffix string) (string, bool) {
	s, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return "", false
	}
	return strings.CutSuffix(s, suffix)
}

func (r *Result) parseProbe(s string) string {
	kind, rest, _ := strings.Cut(s, " ")
	switch kind {
	case "loader":
		if rest == "-" {
			r.Loader = ""
			return ""
		}
		v, err := unescape(rest)
		if err != "" {
			return err
		}
		r.Loader = string(v)
	case "cmdline":
		v, err := unescape(rest)
		if err != "" {
			return err
		}
		r.Cmdline, r.HasCmdline = string(v), true
	case "module":
		return r.parseModule(rest)
	case "mem":
		var lo, up int
		if n, err := fmt.Sscanf(rest, "lower %d upper %d", &lo, &up); n != 2 || err != nil ||
			rest != fmt.Sprintf("lower %d upper %d", lo, up) {
			return "malformed mem line"
		}
		r.MemLowerKiB, r.MemUpperKiB = lo, up
	case "pci":
		p, ok := parsePCI(rest)
		if !ok {
			return "malformed pci line"
		}
		r.PCI = append(r.PCI, p)
	case "end":
		if rest != "" {
			return "malformed end line"
		}
		r.Ended = true
	default:
		return "unknown probe line"
	}
	return ""
}

func (r *Result) parseModule(s string) string {
	idx, rest, _ := strings.Cut(s, " ")
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 || strconv.Itoa(i) != idx {
		return "malformed module number"
	}
	kind, rest, hasRest := strings.Cut(rest, " ")
	if kind == "size" {
		if i != len(r.Modules) {
			return "module out of order"
		}
		n, str, ok := strings.Cut(rest, " string ")
		size, err := strconv.Atoi(n)
		if !ok || err != nil || size < 0 {
			// "string " with an empty string may have lost its trailing space.
			n, ok = strings.CutSuffix(rest, " string")
			if size, err = strconv.Atoi(n); !ok || err != nil || size < 0 {
				return "malformed module size line"
			}
			str = ""
		}
		v, e := unescape(str)
		if e != "" {
			return e
		}
		r.Modules = append(r.Modules, Module{Size: size, String: string(v)})
		return ""
	}
	if i != len(r.Modules)-1 {
		return "line for a module that was not announced"
	}
	m := &r.Modules[i]
	switch kind {
	case "gzip":
		if hasRest {
			return "malformed gzip line"
		}
		m.Gzip = true
	case "cpio":
		f := strings.SplitN(rest, " ", 3)
		if len(f) != 3 {
			return "malformed cpio line"
		}
		mode, err1 := strconv.ParseUint(f[0], 8, 32)
		size, err2 := strconv.ParseInt(f[1], 10, 64)
		name, e := unescape(f[2])
		if err1 != nil || err2 != nil || len(f[0]) < 6 || size < 0 {
			return "malformed cpio line"
		}
		if e != "" {
			return e
		}
		m.Cpio = append(m.Cpio, CpioEntry{Mode: uint32(mode), Size: size, Name: string(name)})
	case "cpio-error":
		if rest == "" {
			return "malformed cpio-error line"
		}
		v, e := unescape(rest)
		if e != "" {
			return e
		}
		m.CpioError = string(v)
	case "jsoncfg":
		v, e := unescape(rest)
		if e != "" {
			return e
		}
		m.JSONCfg, m.HasJSONCfg = v, true
	case "json":
		v, e := unescape(rest)
		if e != "" {
			return e
		}
		m.JSON = v
	default:
		return "unknown module line"
	}
	return ""
}

func parsePCI(s string) (PCIFunction, bool) {
	var p PCIFunction
	var v, d uint16
	var c uint32
	n, err := fmt.Sscanf(s, "%02x:%02x.%1x %04x:%04x %06x", &p.Bus, &p.Slot, &p.Func, &v, &d, &c)
	if n != 6 || err != nil {
		return p, false
	}
	p.Vendor, p.Device, p.Class = v, d, c
	return p, p.String() == s
}

// unescape reverses the probe's escaping: \xHH (lower-case hex) for
// every byte outside printable ASCII and space, and for '\' itself.
func unescape(s string) ([]byte, string) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+3 >= len(s) {
				return nil, "truncated escape"
			}
			if s[i+1] != 'x' || !isLowerHex(s[i+2]) || !isLowerHex(s[i+3]) {
				return nil, "bad escape"
			}
			v, _ := strconv.ParseUint(s[i+2:i+4], 16, 8)
			out = append(out, byte(v))
			i += 3
		case c == ' ' || (c >= 0x21 && c <= 0x7e):
			out = append(out, c)
		default:
			return nil, fmt.Sprintf("unescaped byte 0x%02x", c)
		}
	}
	return out, ""
}

func isLowerHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f'
}
