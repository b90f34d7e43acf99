package config

import (
	"fmt"
	"strings"
)

// Config is a json.cfg in canonical form: the model every tool shares.
//
// Nil Net and Blk mean the key is absent, so launchers apply the defaults
// (DHCP on every NIC, every disk mounted at /mnt/<device>); a non-nil empty
// slice means the config turns them off explicitly ("net": []).
type Config struct {
	Schema   string // "$schema": editor hint, never sent to a kernel
	Hostname string
	Cmdline  string // argv as one string; the kernel splits it
	RC       []RC   // argv per baked program, in bake order
	Env      []EnvVar
	Net      []Net
	Blk      []Blk

	file   string
	pos    map[string]pos    // JSON pointer -> position of the value
	kpos   map[string]pos    // JSON pointer -> position of the member's key
	origin map[string]string // JSON pointer -> the option that set the value (SetOrigin)
}

// RC is one "rc" entry: the arguments of one baked program.
type RC struct {
	Bin     string
	Argv    []string // arguments after argv[0] (the kernel sets argv[0] to Bin)
	Runmode string   // "", "&" (background) or "|" (pipe to the next)
}

// EnvVar is one environment variable; Config.Env keeps them in file order.
type EnvVar struct {
	Name, Value string
}

// Net configures one network interface.
type Net struct {
	If     string // guest interface name, e.g. vioif0, xenif0
	Cloner bool   // create the interface first (Xen's xenifN)
	Type   string // "inet" or "inet6"
	Method string // "dhcp" (inet), "auto" (inet6) or "static"
	Addr   string // static address with prefix length, e.g. 10.0.0.2/24
	Gw     string // default gateway, optional
}

// Blk configures one block device and where it is mounted.
type Blk struct {
	Source     string // "dev", "vnd" or "etfs"
	Path       string // /dev/ld0a (dev), a file (vnd), a host name such as xvda (etfs)
	Fstype     string // "blk" or "kernfs"; needed with a mountpoint
	Mountpoint string // absolute path in the guest, optional
}

// Target is a place a kernel runs; CheckTarget knows each one's device names.
type Target string

const (
	QEMU Target = "qemu" // QEMU/KVM, hw kernels
	Xen  Target = "xen"  // Xen PV (or HVM for an hw kernel)
	EC2  Target = "ec2"  // Amazon EC2 PV
	GCE  Target = "gce"  // Google Compute Engine, hw kernels
	ISO  Target = "iso"  // bootable ISO, bare metal or any hypervisor
)

// Targets lists the targets CheckTarget knows.
var Targets = []Target{QEMU, Xen, EC2, GCE, ISO}

// ParseTarget returns the Target named s.
func ParseTarget(s string) (Target, error) {
	for _, t := range Targets {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown target %q (want qemu, xen, ec2, gce or iso)", s)
}

// Diagnostic is an error or warning about a config, located in its source.
// Line and Col are 1-based (Col counts bytes); they are 0 when the value did
// not come from a file. Pointer is the RFC 6901 JSON pointer of the value.
// Origin, when set, names the command-line option the value came from
// ("-N", "-e NAME", "arguments after --"): such a value is in no file, so
// File and the position are empty.
type Diagnostic struct {
	File      string
	Line, Col int
	Pointer   string
	Origin    string
	Msg       string
	Warning   bool
}

// String formats d as "file:line:col: /pointer: msg" (DESIGN.md 3.3),
// warnings as "file:line:col: warning: /pointer: msg"; the pointer is left
// out for the document as a whole. A value set by an option is "origin:
// msg" instead.
func (d Diagnostic) String() string {
	var b strings.Builder
	if d.Origin != "" {
		b.WriteString(d.Origin)
	} else {
		file := d.File
		if file == "" {
			file = "json.cfg"
		}
		b.WriteString(file)
		if d.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", d.Line, d.Col)
		}
	}
	b.WriteString(": ")
	if d.Warning {
		b.WriteString("warning: ")
	}
	if d.Origin == "" && d.Pointer != "" {
		b.WriteString(d.Pointer)
		b.WriteString(": ")
	}
	b.WriteString(d.Msg)
	return b.String()
}

func (d Diagnostic) Error() string { return d.String() }

// ErrorList is the error Parse returns: every error found, in source order.
type ErrorList []Diagnostic

// Error prints one diagnostic per line.
func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, d := range l {
		s[i] = d.String()
	}
	return strings.Join(s, "\n")
}

// diagnostic turns an internal message into a Diagnostic for file.
func (g diag) diagnostic(file string) Diagnostic {
	return Diagnostic{File: file, Line: g.pos.line, Col: g.pos.col, Pointer: g.ptr, Msg: g.msg, Warning: g.warning}
}

// at returns a diag at the position of the value at ptr (or of its key, when
// key is set), falling back to the nearest enclosing value with a position;
// or, for a value that an option set (SetOrigin), naming the option.
func (c *Config) at(ptr string, key bool, warning bool, format string, args ...any) Diagnostic {
	for q := ptr; len(c.origin) > 0; q = parentPointer(q) {
		if o, ok := c.origin[q]; ok {
			return Diagnostic{Pointer: ptr, Origin: o, Msg: fmt.Sprintf(format, args...), Warning: warning}
		}
		if q == "" {
			break
		}
	}
	var p pos
	if c.pos != nil {
		for q := ptr; ; q = parentPointer(q) {
			var ok bool
			if key && q == ptr {
				p, ok = c.kpos[q]
			} else {
				p, ok = c.pos[q]
			}
			if ok || q == "" {
				break
			}
		}
	}
	return Diagnostic{File: c.file, Line: p.line, Col: p.col, Pointer: ptr, Msg: fmt.Sprintf(format, args...), Warning: warning}
}

func parentPointer(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// pointerEscape escapes a key for a JSON pointer (RFC 6901).
func pointerEscape(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// SetOrigin records that the value at the JSON pointer ptr (and all of it)
// was set by a command-line option, named by origin ("-N", "-e NAME"), so
// that diagnostics about it name the option rather than a position in a
// file the value is not in. c's clones made before are not affected.
func (c *Config) SetOrigin(ptr, origin string) {
	m := make(map[string]string, len(c.origin)+1)
	for k, v := range c.origin {
		m[k] = v
	}
	m[ptr] = origin
	c.origin = m
}

// Clone returns a deep copy of c, positions included.
func (c *Config) Clone() *Config {
	n := *c
	n.RC = nil
	for _, r := range c.RC {
		r.Argv = append([]string(nil), r.Argv...)
		n.RC = append(n.RC, r)
	}
	n.Env = append([]EnvVar(nil), c.Env...)
	if c.Net != nil {
		n.Net = append([]Net{}, c.Net...)
	}
	if c.Blk != nil {
		n.Blk = append([]Blk{}, c.Blk...)
	}
	return &n
}
