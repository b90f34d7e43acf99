package launch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/kernel"
)

// Options are the inputs every launcher takes, as its command line gives them.
type Options struct {
	Kernel string // KERNEL
	Initrd string // INITRD, "" for none

	ConfigFile string    // -c CFG; "-" reads Stdin
	Stdin      io.Reader // for ConfigFile "-"

	Env        []string // -e NAME=VALUE, in order
	Hostname   string   // -N HOSTNAME
	Interfaces []string // -I GUESTIF[=BACKEND]
	Disks      []string // -b FILE[,MOUNTPOINT]
	Args       []string // after "--": the program's argv, exactly

	MemoryMiB int    // -M; 0 means DefaultMemoryMiB
	Name      string // machine name; "" means the hostname, else the kernel's file name
	Protocol  string // --protocol; "" chooses from the kernel's notes
}

// DefaultMemoryMiB is the guest memory when Options.MemoryMiB is 0, as the
// old rumprun script gave.
const DefaultMemoryMiB = 64

// New reads the kernel (and initrd), builds the effective config and
// attaches devices as t allows. Warnings (dialect normalisations of the
// config) are returned even when err is not nil. Config errors come as a
// config.ErrorList, one "file:line:col: message" per entry.
func New(o Options, t *Target) (p *Plan, warnings []config.Diagnostic, err error) {
	// Headers, notes and the bake record only: the toolchain strings would
	// mean reading the whole kernel, and launching does not need them.
	k, err := kernel.Options{NoToolchain: true}.Open(o.Kernel)
	if err != nil {
		return nil, nil, err
	}
	if t.CheckKernel != nil {
		if err := t.CheckKernel(k); err != nil {
			return nil, nil, err
		}
	}
	p = &Plan{Kernel: o.Kernel, Info: k, Initrd: o.Initrd, MemoryMiB: o.MemoryMiB}
	if p.MemoryMiB == 0 {
		p.MemoryMiB = DefaultMemoryMiB
	}
	if p.MemoryMiB < 0 {
		return nil, nil, fmt.Errorf("memory %d MiB: must be positive", p.MemoryMiB)
	}

	switch o.Protocol {
	case "":
		p.Protocol = ProtocolRumprun
		if k.Supports(ProtocolInitrd) {
			p.Protocol = ProtocolInitrd
		}
	case ProtocolRumprun, ProtocolInitrd:
		p.Protocol = o.Protocol
	default:
		return nil, nil, fmt.Errorf("unknown boot protocol %q (want %s or %s)", o.Protocol, ProtocolRumprun, ProtocolInitrd)
	}
	if p.Protocol == ProtocolRumprun && o.Initrd != "" {
		return nil, nil, fmt.Errorf("%s cannot read an initrd: it does not declare the %s boot protocol (rump-bake's kernels do, unless baked with --protocol rumprun). "+
			"Put the files on a disk image and attach it with -b IMAGE[,MOUNTPOINT] (the config mounts it), or bake them into the kernel",
			o.Kernel, ProtocolInitrd)
	}

	// The base config: -c, else the initrd's /json.cfg, else empty.
	var base, fromInitrd *config.Config
	if o.Initrd != "" {
		if fromInitrd, warnings, err = initrdConfig(o.Initrd); err != nil {
			return nil, warnings, err
		}
		base = fromInitrd
	}
	if o.ConfigFile != "" {
		data, err := readConfigFile(o.ConfigFile, o.Stdin)
		if err != nil {
			return nil, warnings, err
		}
		name := o.ConfigFile
		if name == "-" {
			name = "<stdin>" // as internal/cli.Stdin names it in every tool
		}
		c, ws, err := config.Parse(name, data)
		warnings = append(warnings, ws...)
		if err != nil {
			return nil, warnings, err
		}
		base = c
	}
	if base == nil {
		base = &config.Config{}
	}

	c := base.Clone()
	c.Schema = "" // an editor hint, never sent to a kernel (DESIGN.md 3.1)
	if err := patch(c, o, k); err != nil {
		return nil, warnings, err
	}

	// Network interfaces: every one the config configures (the kernel fails
	// to boot otherwise) and every one -I names, with the gaps filled.
	backends := map[string]Backend{}
	var named []string
	for _, arg := range o.Interfaces {
		name, spec, _ := strings.Cut(arg, "=")
		if _, _, err := t.nicModel(name); err != nil {
			return nil, warnings, fmt.Errorf("-I %s: %v", arg, err)
		}
		if _, dup := backends[name]; dup {
			return nil, warnings, fmt.Errorf("-I %s: %s given twice", arg, name)
		}
		b, err := ParseBackend(spec)
		if err != nil {
			return nil, warnings, fmt.Errorf("-I %s: %v", arg, err)
		}
		backends[name] = b
		named = append(named, name)
	}
	for _, n := range c.Net {
		if _, _, err := t.nicModel(n.If); err == nil {
			named = append(named, n.If)
		} // else CheckTarget below says what is wrong, with the position
	}
	p.NICs = t.attachNICs(named, backends)

	// Disks, in -b order.
	var defaults []config.Blk
	for i, arg := range o.Disks {
		spec, err := ParseDiskSpec(arg)
		if err != nil {
			return nil, warnings, err
		}
		if i >= t.Disks.Max {
			return nil, warnings, fmt.Errorf("-b %s: at most %d %s disks can be attached", arg, t.Disks.Max, t.Disks.Device)
		}
		img, err := DetectFormat(spec.Path)
		if err != nil {
			return nil, warnings, fmt.Errorf("-b %s: %v", arg, err)
		}
		d := Disk{Unit: i, Path: spec.Path, Image: img, ReadOnly: img.ISO, Guest: t.Disks.Blk(i)}
		d.Guest.Mountpoint = spec.Mountpoint
		if spec.Mountpoint != "" {
			d.Guest.Fstype = "blk"
			if c.Blk != nil {
				// The config lists its disks itself: -b's mountpoint patches it.
				c.Blk = replaceBlk(c.Blk, d.Guest)
			}
		}
		defaults = append(defaults, d.Guest)
		p.Disks = append(p.Disks, d)
	}

	var nicNames []string
	for _, n := range p.NICs {
		nicNames = append(nicNames, n.Name)
	}
	// An initrd/1 kernel applies the defaults itself (DHCP on every NIC,
	// every disk at /mnt/DEV, DESIGN.md 5): only a -b mountpoint needs blk
	// written, and then for every disk, as "present" means exactly as
	// written.
	kernelDefaults := p.Protocol == ProtocolInitrd
	if kernelDefaults {
		nicNames = nil
		named := false
		for _, d := range p.Disks {
			named = named || d.Guest.Mountpoint != ""
		}
		if !named {
			defaults = nil
		}
	}
	p.Config = c.WithDefaults(nicNames, defaults)
	for i := range p.Disks {
		if kernelDefaults && p.Config.Blk == nil {
			// Where the kernel mounts it.
			g := &p.Disks[i].Guest
			g.Fstype, g.Mountpoint = "blk", "/mnt/"+path.Base(g.Path)
			continue
		}
		p.Disks[i].Guest = mountOf(p.Config, p.Disks[i].Guest)
	}

	if err := checkEffective(p, t); err != nil {
		return nil, warnings, err
	}

	p.Name = o.Name
	if p.Name == "" {
		p.Name = p.Config.Hostname
	}
	if p.Name == "" {
		p.Name = strings.TrimSuffix(filepath.Base(o.Kernel), filepath.Ext(o.Kernel))
	}
	for i := range p.NICs {
		if p.NICs[i].MAC == "" {
			p.NICs[i].MAC = MAC(p.Name, p.NICs[i].Name)
		}
	}

	p.SendConfig = true
	if p.Protocol == ProtocolInitrd && fromInitrd != nil {
		initrdCfg := fromInitrd.Clone()
		initrdCfg.Schema = ""
		a, errA := initrdCfg.Canonical()
		b, errB := p.Config.Canonical()
		p.SendConfig = errA != nil || errB != nil || !bytes.Equal(a, b)
	}
	return p, warnings, nil
}

// ConfigText returns what the kernel is to receive for its protocol: the
// wire form (ProtocolRumprun) or canonical JSON on one line (ProtocolInitrd).
// It returns nil when the plan sends no config.
func (p *Plan) ConfigText() ([]byte, error) {
	if !p.SendConfig {
		return nil, nil
	}
	if p.Protocol == ProtocolRumprun {
		return p.Config.Wire()
	}
	c, err := p.Config.Canonical()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := json.Compact(&b, c); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// patch applies -e, -N and the program arguments to c.
func patch(c *config.Config, o Options, k *kernel.Kernel) error {
	for _, e := range o.Env {
		name, value, ok := strings.Cut(e, "=")
		if !ok || name == "" {
			return fmt.Errorf("-e %s: want NAME=VALUE", e)
		}
		replaced := false
		for i := range c.Env {
			if c.Env[i].Name == name {
				c.Env[i].Value, replaced = value, true
			}
		}
		if !replaced {
			c.Env = append(c.Env, config.EnvVar{Name: name, Value: value})
		}
		// Diagnostics about the value name the option, not a place in
		// the config file, which does not hold it.
		c.SetOrigin("/env/"+pointerEscape(name), "-e "+name)
	}
	if o.Hostname != "" {
		c.Hostname = o.Hostname
		c.SetOrigin("/hostname", "-N")
	}

	programs := []string{filepath.Base(o.Kernel)}
	if k.Bake != nil && len(k.Bake.Programs) > 0 {
		programs = k.Bake.Programs
	}
	switch {
	case o.Args != nil:
		// The arguments after "--" become the argv as they are: an rc entry
		// keeps every word intact, where "cmdline" would be split again.
		if len(programs) > 1 && len(c.RC) != 1 {
			return fmt.Errorf("the kernel has %d programs (%s): arguments after -- are one program's argv; give each program's argv in the config's \"rc\" instead",
				len(programs), strings.Join(programs, ", "))
		}
		bin := programs[0]
		if len(c.RC) == 1 {
			bin = c.RC[0].Bin
		}
		c.Cmdline = ""
		c.RC = []config.RC{{Bin: bin, Argv: append([]string{}, o.Args...)}}
		c.SetOrigin("/rc/0/argv", "the arguments after --")
	case c.Cmdline == "" && c.RC == nil:
		// Without argv the kernel fails to boot ("no bins"): run every
		// baked program without arguments.
		for _, prog := range programs {
			c.RC = append(c.RC, config.RC{Bin: prog, Argv: []string{}})
		}
	}
	return nil
}

// pointerEscape escapes a key for a JSON pointer (RFC 6901).
func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// replaceBlk puts b in place of the entry for the same device, or appends it.
func replaceBlk(blk []config.Blk, b config.Blk) []config.Blk {
	out := append([]config.Blk{}, blk...)
	for i := range out {
		if out[i].Source == b.Source && out[i].Path == b.Path {
			out[i] = b
			return out
		}
	}
	return append(out, b)
}

// mountOf returns the effective config's entry for disk d, or d without a
// mountpoint when the config does not mount it.
func mountOf(c *config.Config, d config.Blk) config.Blk {
	for _, b := range c.Blk {
		if b.Source == d.Source && b.Path == d.Path {
			return b
		}
	}
	d.Mountpoint, d.Fstype = "", ""
	return d
}

var (
	ifNameRE = regexp.MustCompile(`^([a-z]+?)(0|[1-9][0-9]*)$`)
	netIfRE  = regexp.MustCompile(`^/net/([0-9]+)/if$`)
)

// nicModel finds the model and unit of a guest interface name, or explains
// why the target cannot have it, naming the ones it can with the same unit.
func (t *Target) nicModel(name string) (NICModel, int, error) {
	m := ifNameRE.FindStringSubmatch(name)
	unit := 0
	if m != nil {
		unit, _ = strconv.Atoi(m[2])
		for _, model := range t.NICs {
			if model.Driver != m[1] {
				continue
			}
			if unit >= model.Max {
				return model, unit, fmt.Errorf("%s: at most %d %s interfaces (%s0 to %s%d)", name, model.Max, model.Device, model.Driver, model.Driver, model.Max-1)
			}
			return model, unit, nil
		}
	}
	var alts []string
	for _, model := range t.NICs {
		u := unit
		if u >= model.Max {
			u = 0
		}
		alts = append(alts, fmt.Sprintf("%s%d (%s)", model.Driver, u, model.Device))
	}
	what := fmt.Sprintf("interface %q", name)
	if name == "" {
		what = "an empty interface name"
	}
	if len(alts) == 0 {
		return NICModel{}, 0, fmt.Errorf("%s does not exist on %s: it offers no network device the kernel can drive", what, t.name())
	}
	return NICModel{}, 0, fmt.Errorf("%s does not exist on %s: use %s", what, t.name(), orList(alts))
}

func (t *Target) name() string {
	if t.Name != "" {
		return t.Name
	}
	return string(t.Config)
}

func orList(s []string) string {
	switch len(s) {
	case 0:
		return "nothing"
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// attachNICs returns a device for every named interface and for every lower
// unit of the same driver, in model order and unit order.
func (t *Target) attachNICs(named []string, backends map[string]Backend) []NIC {
	top := map[string]int{} // driver -> highest unit named
	want := map[string]bool{}
	for _, name := range named {
		model, unit, _ := t.nicModel(name)
		if u, ok := top[model.Driver]; !ok || unit > u {
			top[model.Driver] = unit
		}
		want[name] = true
	}
	var nics []NIC
	for _, model := range t.NICs {
		u, ok := top[model.Driver]
		if !ok {
			continue
		}
		for unit := 0; unit <= u; unit++ {
			name := model.Driver + strconv.Itoa(unit)
			b, ok := backends[name]
			if !ok {
				b = Backend{Kind: BackendUser}
			}
			nics = append(nics, NIC{Name: name, Model: model, Unit: unit, Backend: b, MAC: b.MAC, Implied: !want[name]})
		}
	}
	return nics
}

// checkEffective checks the effective config as the kernel will see it:
// the semantic checks, the target's names and drivers, and for today's
// kernels that the wire form exists. Size limits are the target's to check,
// as they depend on how it delivers the config.
func checkEffective(p *Plan, t *Target) error {
	c := p.Config
	ds := append(c.Check(), c.CheckTarget(t.Config, p.Info)...)
	var wireErrs config.ErrorList
	if _, err := c.Wire(); err != nil {
		if !errors.As(err, &wireErrs) {
			return err
		}
	}
	var errs config.ErrorList
	seen := map[string]bool{}
	for _, d := range ds {
		if d.Warning || seen[d.String()] {
			continue
		}
		seen[d.String()] = true
		if d.Pointer == "" && strings.HasPrefix(d.Msg, "wire form is ") {
			continue
		}
		if isWireError(d, wireErrs) {
			continue
		}
		// An interface the target cannot have: name the ones it can, with
		// the same unit, as for -I.
		if m := netIfRE.FindStringSubmatch(d.Pointer); m != nil && len(t.NICs) > 0 {
			i, _ := strconv.Atoi(m[1])
			if _, _, err := t.nicModel(c.Net[i].If); err != nil {
				d.Msg = err.Error()
			}
		}
		errs = append(errs, d)
	}
	if p.Protocol == ProtocolRumprun {
		errs = append(errs, wireErrs...)
	}
	if len(errs) > 0 {
		return errs
	}
	if p.Protocol == ProtocolInitrd {
		if _, err := c.Canonical(); err != nil {
			return err
		}
	}
	return nil
}

func isWireError(d config.Diagnostic, wire config.ErrorList) bool {
	for _, w := range wire {
		if w == d {
			return true
		}
	}
	return false
}

// readConfigFile reads the -c file ("-": stdin), at most config.MaxSize+1
// bytes: config.Parse refuses a bigger one, and an endless input such as
// /dev/zero does not fill memory.
func readConfigFile(name string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	} else if r == nil {
		r = os.Stdin
	}
	return io.ReadAll(io.LimitReader(r, config.MaxSize+1))
}

// initrdConfig reads /json.cfg from an initrd (the last one, where archives
// are concatenated, as the kernel sees it); it returns a nil Config when the
// archive holds none.
func initrdConfig(file string) (*config.Config, []config.Diagnostic, error) {
	// The hypervisor loads the initrd by name, so it is a regular file;
	// checked before opening, which would wait forever on a FIFO.
	if fi, err := os.Stat(file); err != nil {
		return nil, nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: not a regular file", file)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, label, err := config.LoadInitrd(file, f)
	if errors.Is(err, config.ErrNoConfig) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return config.Parse(label, data)
}
