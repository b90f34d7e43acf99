package config

import (
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
)

// Parse reads a json.cfg in canonical form or in the rumprun dialect.
//
// filename only labels diagnostics. Dialect features are normalised into the
// canonical model and reported as warnings. The result is then checked
// against the rules of the embedded JSON Schema (SchemaJSON) and by the
// semantic checks the schema cannot express. On any error Parse returns a
// nil Config and an ErrorList (which prints one "file:line:col: message" per
// line); the warnings found so far are returned either way.
func Parse(filename string, data []byte) (*Config, []Diagnostic, error) {
	root, ds, serr := read(data)
	if serr != nil {
		ds = append(ds, diag{pos: serr.pos, msg: serr.msg})
		warns, err := split(filename, ds)
		return nil, warns, err
	}
	reported := map[string]bool{}
	for _, d := range ds {
		if !d.warning {
			reported[d.ptr] = true
		}
	}
	for _, d := range checkShape(root) {
		if !reported[d.ptr] { // one error per value is enough
			ds = append(ds, d)
		}
	}
	if hasError(ds) {
		warns, err := split(filename, ds)
		return nil, warns, err
	}
	c := &Config{file: filename, pos: map[string]pos{}, kpos: map[string]pos{}}
	positions(root, "", c.pos, c.kpos)
	decode(c, root)
	for _, d := range c.check() {
		ds = append(ds, diag{pos: pos{d.Line, d.Col}, ptr: d.Pointer, msg: d.Msg, warning: d.Warning})
	}
	warns, err := split(filename, ds)
	if err != nil {
		return nil, warns, err
	}
	return c, warns, nil
}

// read parses data and normalises the dialect: everything before the
// checks against the schema.
func read(data []byte) (*node, []diag, *syntaxError) {
	root, ds, serr := parseDocument(data)
	if serr != nil {
		return nil, ds, serr
	}
	return root, append(ds, normalize(root)...), nil
}

func hasError(ds []diag) bool {
	for _, d := range ds {
		if !d.warning {
			return true
		}
	}
	return false
}

// split sorts diagnostics by position and separates warnings from errors.
func split(file string, ds []diag) ([]Diagnostic, error) {
	ds = dedupe(ds)
	var warns []Diagnostic
	var errs ErrorList
	for _, d := range ds {
		if d.warning {
			warns = append(warns, d.diagnostic(file))
		} else {
			errs = append(errs, d.diagnostic(file))
		}
	}
	if len(errs) > 0 {
		return warns, errs
	}
	return warns, nil
}

// decode fills c from a tree that passed checkShape, so types are known.
func decode(c *Config, root *node) {
	for _, m := range root.mem {
		v := m.val
		switch m.key {
		case "$schema":
			c.Schema = v.str
		case "hostname":
			c.Hostname = v.str
		case "cmdline":
			c.Cmdline = v.str
		case "rc":
			c.RC = []RC{}
			for _, e := range v.elems {
				var r RC
				for _, f := range e.mem {
					switch f.key {
					case "bin":
						r.Bin = f.val.str
					case "runmode":
						r.Runmode = f.val.str
					case "argv":
						r.Argv = []string{}
						for _, a := range f.val.elems {
							r.Argv = append(r.Argv, a.str)
						}
					}
				}
				c.RC = append(c.RC, r)
			}
		case "env":
			for _, f := range v.mem {
				c.Env = append(c.Env, EnvVar{f.key, f.val.str})
			}
		case "net":
			c.Net = []Net{}
			for _, e := range v.elems {
				var n Net
				mask := ""
				for _, f := range e.mem {
					switch f.key {
					case "if":
						n.If = f.val.str
					case "cloner":
						n.Cloner = f.val.b
					case "type":
						n.Type = f.val.str
					case "method":
						n.Method = f.val.str
					case "addr":
						n.Addr = f.val.str
					case "mask":
						// An integer to JSON Schema however written
						// (24.0, 2.4e1); checkShape has bounded it.
						v, _ := strconv.ParseFloat(f.val.str, 64)
						mask = strconv.Itoa(int(v))
					case "gw":
						n.Gw = f.val.str
					}
				}
				// Fold "mask" into the address; check() reports conflicts
				// from the positions kept for /net/N/mask.
				// An address that already has a prefix length gets a second
				// one, which check() reports as given twice.
				if mask != "" && n.Addr != "" {
					n.Addr += "/" + mask
				}
				c.Net = append(c.Net, n)
			}
		case "blk":
			c.Blk = []Blk{}
			for _, e := range v.elems {
				var b Blk
				for _, f := range e.mem {
					switch f.key {
					case "source":
						b.Source = f.val.str
					case "path":
						b.Path = f.val.str
					case "fstype":
						b.Fstype = f.val.str
					case "mountpoint":
						b.Mountpoint = f.val.str
					}
				}
				c.Blk = append(c.Blk, b)
			}
		}
	}
}

// Check runs the semantic checks the schema cannot express on a Config
// built in code (Parse runs them itself). Positions are those of the parsed
// file when c came from Parse, else zero.
func (c *Config) Check() []Diagnostic { return c.check() }

func (c *Config) check() []Diagnostic {
	var ds []Diagnostic
	errf := func(ptr string, key bool, format string, args ...any) {
		ds = append(ds, c.at(ptr, key, false, format, args...))
	}
	warnf := func(ptr string, key bool, format string, args ...any) {
		ds = append(ds, c.at(ptr, key, true, format, args...))
	}

	if c.Hostname != "" {
		checkHostname(c.Hostname, func(format string, args ...any) { errf("/hostname", false, format, args...) })
	}
	if c.Cmdline != "" && c.RC != nil {
		errf("/rc", true, "\"cmdline\" and \"rc\" cannot both be given (cmdline is the argv of a single program)")
	}
	if c.Cmdline != "" {
		if msg := checkCmdline(c.Cmdline); msg != "" {
			errf("/cmdline", false, "%s", msg)
		}
	}
	for i, r := range c.RC {
		p := "/rc/" + strconv.Itoa(i)
		if r.Bin == "" {
			errf(p+"/bin", false, "\"bin\" must not be empty")
		}
		switch r.Runmode {
		case "", "&":
		case "|":
			if i == len(c.RC)-1 {
				errf(p+"/runmode", false, "runmode \"|\" on the last rc entry: there is no next program to pipe to")
			}
		default:
			errf(p+"/runmode", false, "runmode must be \"&\" or \"|\", not %q", r.Runmode)
		}
	}
	for i, e := range c.Env {
		if e.Name == "" || strings.ContainsRune(e.Name, '=') {
			errf("/env/"+pointerEscape(e.Name), true, "invalid environment variable name %q", e.Name)
		}
		_ = i
	}

	ifs := map[string]int{}
	for i, n := range c.Net {
		p := "/net/" + strconv.Itoa(i)
		if !isIfName(n.If) {
			errf(p+"/if", false, "interface %q does not exist on any target (vioifN or wmN on QEMU, xenifN on Xen, shmifN, virtN)", n.If)
		}
		if j, dup := ifs[n.If]; dup {
			errf(p+"/if", false, "interface %q configured twice (also \"net\" entry %d)", n.If, j)
		}
		ifs[n.If] = i
		c.checkNet(n, p, errf, warnf)
	}

	mps := map[string]int{}
	for i, b := range c.Blk {
		p := "/blk/" + strconv.Itoa(i)
		switch b.Source {
		case "dev":
			if b.Fstype == "kernfs" {
				break // the old script writes "path": "virtual" for kernfs
			}
			if !strings.HasPrefix(b.Path, "/dev/") || len(b.Path) == len("/dev/") {
				errf(p+"/path", false, "\"dev\" path %q must be a device under /dev/, e.g. /dev/ld0a", b.Path)
			}
		case "vnd":
			if strings.HasSuffix(b.Path, "/") {
				errf(p+"/path", false, "\"vnd\" path %q must name an image file", b.Path)
			}
		case "etfs":
			if !(isXenDisk(b.Path) || isEC2Disk(b.Path)) {
				errf(p+"/path", false, "\"etfs\" path %q must be a host block device name such as xvda or sda1 (no /dev/)", b.Path)
			}
		}
		if b.Mountpoint != "" {
			if b.Fstype == "" {
				errf(p+"/mountpoint", true, "mountpoint %q needs \"fstype\" (\"blk\" for a file system image)", b.Mountpoint)
			}
			if clean := path.Clean(b.Mountpoint); clean != b.Mountpoint {
				errf(p+"/mountpoint", false, "mountpoint %q is not a clean path (write %q)", b.Mountpoint, clean)
			} else if clean == "/" {
				errf(p+"/mountpoint", false, "mountpoint \"/\" would cover the root file system")
			}
			if j, dup := mps[b.Mountpoint]; dup {
				errf(p+"/mountpoint", false, "mountpoint %q used twice (also \"blk\" entry %d)", b.Mountpoint, j)
			}
			mps[b.Mountpoint] = i
		} else if b.Fstype != "" {
			warnf(p+"/fstype", true, "\"fstype\" without \"mountpoint\" has no effect")
		}
	}
	return ds
}

func checkHostname(h string, errf func(string, ...any)) {
	if len(h) > 253 {
		errf("hostname is %d bytes long (at most 253)", len(h))
		return
	}
	for _, label := range strings.Split(h, ".") {
		if !isHostLabel(label) {
			errf("invalid hostname %q: labels of letters, digits and '-', not starting or ending with '-', separated by dots", h)
			return
		}
	}
}

// checkCmdline reports a cmdline the kernel would split into no arguments
// or with an unterminated quote (rumprun's parseargs: blanks separate, ' and
// " group, \ escapes the next character).
func checkCmdline(s string) string {
	if strings.Trim(s, " \t\n") == "" {
		return "\"cmdline\" holds no arguments"
	}
	var quote rune
	esc := false
	for _, r := range s {
		switch {
		case esc:
			esc = false
		case r == '\\':
			esc = true
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		}
	}
	if quote != 0 {
		return fmt.Sprintf("\"cmdline\" has an unterminated %c quote", quote)
	}
	if esc {
		return "\"cmdline\" ends with a lone backslash"
	}
	return ""
}

func (c *Config) checkNet(n Net, p string, errf, warnf func(string, bool, string, ...any)) {
	switch {
	case n.Type == "inet" && n.Method == "auto":
		errf(p+"/method", false, "method \"auto\" is for inet6; use \"dhcp\" for inet")
		return
	case n.Type == "inet6" && n.Method == "dhcp":
		errf(p+"/method", false, "method \"dhcp\" is for inet; use \"auto\" for inet6")
		return
	}
	_, hasMask := c.pos[p+"/mask"]
	if n.Method != "static" {
		if hasMask {
			errf(p+"/mask", true, "\"mask\" is only used with method \"static\"")
		}
		if n.Addr != "" {
			errf(p+"/addr", true, "\"addr\" is only used with method \"static\"")
		}
		if n.Gw != "" {
			errf(p+"/gw", true, "\"gw\" is only used with method \"static\"")
		}
		return
	}
	if n.Addr == "" {
		errf(p, false, "method \"static\" needs \"addr\" (address/prefix length)")
		return
	}
	if hasMask && strings.Count(n.Addr, "/") > 1 {
		errf(p+"/mask", true, "prefix length given twice: in \"addr\" and in \"mask\"")
		return
	}
	if !strings.Contains(n.Addr, "/") {
		errf(p+"/addr", false, "static address %q needs a prefix length (%s/24, or \"mask\")", n.Addr, n.Addr)
		return
	}
	pfx, err := netip.ParsePrefix(n.Addr)
	if err != nil {
		a, bits, _ := strings.Cut(n.Addr, "/")
		ip, aerr := netip.ParseAddr(a)
		b, berr := strconv.Atoi(bits)
		switch {
		case aerr != nil:
			errf(p+"/addr", false, "invalid address %q", a)
		case berr == nil && b > ip.BitLen():
			errf(p+"/addr", false, "prefix length %d is too long for %q (at most %d)", b, a, ip.BitLen())
		default:
			errf(p+"/addr", false, "invalid prefix length %q in %q", bits, n.Addr)
		}
		return
	}
	if want := n.Type == "inet6"; pfx.Addr().Is6() != want || pfx.Addr().Is4In6() {
		errf(p+"/addr", false, "address %q is not an %s address", n.Addr, map[bool]string{true: "IPv6", false: "IPv4"}[want])
		return
	}
	if pfx.Bits() == 0 {
		errf(p+"/addr", false, "prefix length 0 in %q leaves no network", n.Addr)
	}
	if n.Gw != "" {
		gw, err := netip.ParseAddr(n.Gw)
		switch {
		case err != nil || gw.Zone() != "":
			errf(p+"/gw", false, "invalid gateway address %q", n.Gw)
		case gw.Is4() != pfx.Addr().Is4():
			errf(p+"/gw", false, "gateway %s is not in the same address family as %s", n.Gw, n.Addr)
		case !pfx.Masked().Contains(gw):
			errf(p+"/gw", false, "gateway %s is outside the network %s", n.Gw, pfx.Masked())
		case gw == pfx.Addr():
			errf(p+"/gw", false, "gateway %s is the interface's own address", n.Gw)
		}
	}
}
