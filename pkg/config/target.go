package config

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/rumptools/rumptools/pkg/kernel"
)

const initrdProtocol = "initrd/1"

// Size limits of the wire form on each way of delivering it (DESIGN.md 3.2).
const (
	WireLimitHW       = 4095     // multiboot command line or first module of an hw kernel
	WireLimitXenPV    = 1024     // Xen PV command line (the fallback to xenstore)
	WireLimitRootfsFS = 64 << 10 // a file read through _RUMPRUN_ROOTFSCFG= (EC2)
)

// WithDefaults returns the effective config a launcher sends: when c has no
// "net", DHCP (IPv4) on every NIC in nics; when c has no "blk", every disk
// in disks mounted at /mnt/<device> as an FFS/ext2/ISO image ("fstype":
// "blk") unless the disk names its own mountpoint or fstype. A present
// "net" or "blk", even empty, is kept as it is, except that every Xen
// interface (xenifN) gets "cloner": rumprun creates those through a
// cloner, none can exist without it, and users need not know. c itself is
// not modified.
func (c *Config) WithDefaults(nics []string, disks []Blk) *Config {
	n := c.Clone()
	if c.Net == nil && len(nics) > 0 {
		n.Net = []Net{}
		for _, ifname := range nics {
			n.Net = append(n.Net, Net{If: ifname, Type: "inet", Method: "dhcp"})
		}
	}
	for i := range n.Net {
		if isXenIf(n.Net[i].If) {
			n.Net[i].Cloner = true
		}
	}
	if c.Blk == nil && len(disks) > 0 {
		n.Blk = []Blk{}
		for _, d := range disks {
			if d.Fstype == "" {
				d.Fstype = "blk"
			}
			if d.Mountpoint == "" {
				d.Mountpoint = "/mnt/" + path.Base(d.Path)
			}
			n.Blk = append(n.Blk, d)
		}
	}
	return n
}

// Driver tokens: the component-name fragment of each guest device's driver
// in a bake record, and the stock rumprun bake configs that include it.
type driver struct {
	component string
	configs   []string
}

var drivers = map[string]driver{
	"vioif": {"if_vioif", []string{"hw_generic", "hw_virtio", "hw_virtio_scsi"}},
	"wm":    {"if_wm", []string{"hw_generic"}},
	"re":    {"if_re", []string{"hw_generic"}},
	"pcn":   {"if_pcn", []string{"hw_generic"}},
	"xenif": {"xenif", []string{"xen_pv", "xen_pci"}},
	"ld":    {"virtio_ld", []string{"hw_generic", "hw_virtio", "hw_virtio_scsi"}},
	"sd":    {"scsi", []string{"hw_generic", "hw_virtio_scsi"}},
	"cd":    {"scsi", []string{"hw_generic", "hw_virtio_scsi"}},
}

// targetRules says which guest names a target can have.
type targetRules struct {
	name     string
	ifs      []string // interface name prefixes a launcher can attach
	ifHelp   string
	onlyIf0  bool     // EC2, GCE: unit 0 only (the one interface the instance has)
	devs     []string // /dev/ disk prefixes
	devHelp  string
	etfs     func(string) bool // etfs device names; nil when the target has none
	etfsHelp string
	limit    int
	limitWhy string
}

func rulesFor(t Target, k *kernel.Kernel) (targetRules, error) {
	hw := k == nil || k.Platform != kernel.PlatformXen
	switch t {
	case QEMU:
		return targetRules{name: "QEMU", ifs: []string{"vioif", "wm"}, ifHelp: "vioifN (N-th virtio-net device) or wmN (N-th e1000)",
			devs: []string{"ld", "sd"}, devHelp: "/dev/ldNa (N-th virtio-blk) or /dev/sdNa (virtio-scsi)",
			etfsHelp: "etfs exists only on Xen; use \"source\": \"dev\" with /dev/ld0a",
			limit:    WireLimitHW, limitWhy: "the hw multiboot command line or module"}, nil
	case Xen:
		if k != nil && hw {
			return targetRules{name: "Xen HVM", ifs: []string{"wm"}, ifHelp: "wmN (vif with model=e1000)",
				devHelp:  "an hw kernel on Xen HVM has no usable block driver",
				etfsHelp: "etfs needs a Xen PV kernel (xen_pv)",
				limit:    WireLimitHW, limitWhy: "the hw multiboot command line"}, nil
		}
		return targetRules{name: "Xen PV", ifs: []string{"xenif"}, ifHelp: "xenifN (vif N, with \"cloner\": true)",
			devHelp: "Xen PV disks are etfs devices: \"source\": \"etfs\", \"path\": \"xvda\"",
			etfs:    isXenDisk, etfsHelp: "xvdX (disk=['file:IMG,xvdX,w'])",
			limit: WireLimitXenPV, limitWhy: "the Xen PV command line (xenstore delivery has room for more)"}, nil
	case EC2:
		if k != nil && hw {
			// An HVM image: EC2's Xen HVM instances offer Xen netfront and
			// SR-IOV NICs and IDE or Xen block devices, none of which an hw
			// kernel has a driver for; the config is a module of the image.
			return targetRules{name: "EC2 HVM",
				ifHelp:   "no interface: EC2 HVM instances offer only Xen netfront and SR-IOV (ENA, ixgbevf) NICs, which hw kernels cannot drive; bake for xen_pv to have xenif0",
				devHelp:  "hw kernels have no driver for EC2's IDE or Xen block devices; bake files into the kernel, or use a Xen PV kernel (xen_pv) with etfs sda1",
				etfsHelp: "etfs needs a Xen PV kernel (xen_pv)",
				limit:    WireLimitHW, limitWhy: "the config module of the boot image"}, nil
		}
		return targetRules{name: "EC2", ifs: []string{"xenif"}, onlyIf0: true, ifHelp: "xenif0 (the primary interface, with \"cloner\": true)",
			devHelp: "EC2 disks are etfs devices: \"source\": \"etfs\", \"path\": \"sda1\"",
			etfs:    isEC2Disk, etfsHelp: "sdXN, e.g. sda1 (the root volume)",
			limit: WireLimitRootfsFS, limitWhy: "/json.cfg read through _RUMPRUN_ROOTFSCFG="}, nil
	case GCE:
		// Compute Engine boots the image under SeaBIOS on KVM and gives the
		// instance one virtio-net NIC on the default network; no disk is
		// attached (the config is a module of the boot image).
		return targetRules{name: "GCE", ifs: []string{"vioif"}, onlyIf0: true, ifHelp: "vioif0 (the instance's virtio-net NIC)",
			devHelp:  "no disk is attached on GCE (the kernel runs from its image); bake files into the kernel, or give an initrd/1 kernel an initrd",
			etfsHelp: "etfs exists only on Xen; GCE attaches no disk",
			limit:    WireLimitHW, limitWhy: "the config module of the boot image"}, nil
	case ISO:
		return targetRules{name: "ISO", ifs: []string{"vioif", "wm", "re", "pcn"}, ifHelp: "vioifN, wmN, reN or pcnN (the machine's NICs)",
			devs: []string{"ld", "sd", "cd", "wd"}, devHelp: "/dev/ldNa, /dev/sdNa, /dev/cdNa or /dev/wdNa",
			etfsHelp: "etfs exists only on Xen; use \"source\": \"dev\"",
			limit:    WireLimitHW, limitWhy: "the hw multiboot command line or module"}, nil
	}
	return targetRules{}, fmt.Errorf("unknown target %q", t)
}

// CheckTarget reports what would fail on target: interface and disk names
// the target cannot have (DESIGN.md section 6), "cloner" for xenifN, and a
// wire form over the target's size limit or with values today's kernels
// would misread (not for a kernel k that speaks initrd/1). With a kernel (k may be nil) it
// also checks the platform, that the kernel has a driver for every device
// named (from its bake record) and that "rc" has no more entries than the
// kernel has baked programs.
func (c *Config) CheckTarget(target Target, k *kernel.Kernel) []Diagnostic {
	var ds []Diagnostic
	errf := func(ptr string, key bool, format string, args ...any) {
		ds = append(ds, c.at(ptr, key, false, format, args...))
	}
	warnf := func(ptr string, key bool, format string, args ...any) {
		ds = append(ds, c.at(ptr, key, true, format, args...))
	}
	r, err := rulesFor(target, k)
	if err != nil {
		errf("", false, "%v", err)
		return ds
	}
	if k != nil {
		switch {
		case k.Platform == kernel.PlatformXen && target != Xen && target != EC2:
			errf("", false, "the kernel is a Xen PV kernel; it cannot run on %s", r.name)
		}
	}

	for i, n := range c.Net {
		p := "/net/" + strconv.Itoa(i)
		m := splitUnit(n.If)
		if m == nil || !contains(r.ifs, m[1]) || (r.onlyIf0 && m[2] != "0") {
			errf(p+"/if", false, "interface %q does not exist on %s: use %s", n.If, r.name, r.ifHelp)
			continue
		}
		if m[1] != "xenif" && n.Cloner {
			errf(p+"/cloner", true, "%s is not a cloning interface: remove \"cloner\" (the kernel would fail to create it)", n.If)
		}
		if msg := missingDriver(k, m[1], n.If); msg != "" {
			errf(p+"/if", false, "%s", msg)
		}
	}
	for i, b := range c.Blk {
		p := "/blk/" + strconv.Itoa(i)
		switch {
		case b.Fstype == "kernfs":
		case b.Source == "vnd":
			// An image file inside a file system that is mounted first.
		case b.Source == "etfs":
			if r.etfs == nil {
				errf(p+"/source", false, "%s", r.etfsHelp)
			} else if !r.etfs(b.Path) {
				errf(p+"/path", false, "etfs device %q does not exist on %s: use %s", b.Path, r.name, r.etfsHelp)
			}
		case b.Source == "dev":
			m := splitDevPath(b.Path)
			if m == nil || !contains(r.devs, m[1]) {
				errf(p+"/path", false, "device %q does not exist on %s: %s", b.Path, r.name, r.devHelp)
				continue
			}
			if msg := missingDriver(k, m[1], b.Path); msg != "" {
				errf(p+"/path", false, "%s", msg)
			}
		}
	}

	if k != nil && k.Bake != nil && len(c.RC) > len(k.Bake.Programs) {
		errf("/rc", true, "\"rc\" has %d entries but the kernel has %d baked program(s) (%s)", len(c.RC), len(k.Bake.Programs), strings.Join(k.Bake.Programs, ", "))
	}

	// Kernels that speak initrd/1 read the canonical form (from the initrd
	// or the command line), so the wire form's limits are not theirs.
	if k != nil && k.Supports(initrdProtocol) {
		return ds
	}
	if w, err := c.Wire(); err == nil {
		limit, why := r.limit, r.limitWhy
		if k != nil && k.Platform == kernel.PlatformHW && target == Xen {
			limit, why = WireLimitHW, "the hw multiboot command line"
		}
		if len(w) > limit {
			if target == Xen && limit == WireLimitXenPV {
				warnf("", false, "wire form is %d bytes, over the %d-byte limit of %s", len(w), limit, why)
			} else {
				errf("", false, "wire form is %d bytes, over the %d-byte limit of %s", len(w), limit, why)
			}
		}
	} else if l, ok := err.(ErrorList); ok {
		ds = append(ds, l...)
	}
	return ds
}

// HasDriver reports whether kernel k may drive devices named with prefix
// ("vioif", "wm", "ld", ...), judged from its bake record as CheckTarget
// judges it: true when k is nil or carries no record. A launcher uses it
// to decide whether to configure an interface the machine always has.
func HasDriver(k *kernel.Kernel, prefix string) bool {
	return missingDriver(k, prefix, prefix) == ""
}

// missingDriver explains a device the kernel has no driver for, judged from
// its bake record; it says nothing when the kernel carries no record.
func missingDriver(k *kernel.Kernel, prefix, name string) string {
	if k == nil || k.Bake == nil {
		return ""
	}
	d, ok := drivers[prefix]
	if !ok {
		return ""
	}
	if len(k.Bake.Components) > 0 {
		for _, comp := range k.Bake.Components {
			if strings.Contains(comp, d.component) {
				return ""
			}
		}
		return fmt.Sprintf("the kernel has no driver for %s: no component %q among the %d baked (config %s)", name, d.component, len(k.Bake.Components), k.Bake.Config)
	}
	if k.Bake.Config != "" && !contains(d.configs, k.Bake.Config) {
		return fmt.Sprintf("the kernel has no driver for %s: bake config %s lacks it (use %s)", name, k.Bake.Config, strings.Join(d.configs, " or "))
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Mapping says how one guest device of a config reaches the host side of a
// target: the device-naming explanation rump-cfgcheck -v prints.
type Mapping struct {
	Pointer string // "/net/0" or "/blk/1"
	Guest   string // guest name: vioif0, /dev/ld0a, xvda, images/data.img
	Host    string // what provides it on the target
}

// HostMap explains, for each configured interface and disk, what provides
// it on target. Names the target cannot have are described as such (the
// errors themselves come from CheckTarget).
func (c *Config) HostMap(target Target, k *kernel.Kernel) []Mapping {
	r, err := rulesFor(target, k)
	if err != nil {
		return nil
	}
	var out []Mapping
	for i, n := range c.Net {
		m := Mapping{Pointer: "/net/" + strconv.Itoa(i), Guest: n.If}
		g := splitUnit(n.If)
		switch {
		case g == nil || !contains(r.ifs, g[1]) || (r.onlyIf0 && g[2] != "0"):
			m.Host = "none: " + r.name + " names interfaces " + r.ifHelp
		case target == QEMU && g[1] == "vioif":
			m.Host = "virtio-net PCI device number " + g[2] + " (-device virtio-net-pci, in slot order)"
		case target == QEMU && g[1] == "wm":
			m.Host = "e1000 PCI device number " + g[2] + " (-device e1000, in slot order)"
		case target == Xen && g[1] == "xenif":
			m.Host = "vif number " + g[2] + " (vif = [...] in the xl config)" + clonerNote(n)
		case target == Xen:
			m.Host = "vif number " + g[2] + " with model=e1000 (HVM)"
		case target == EC2:
			m.Host = "the instance's primary network interface" + clonerNote(n)
		case target == GCE:
			m.Host = "the instance's network interface (nicType VIRTIO_NET, default network)"
		default:
			m.Host = "the machine's " + g[1] + " NIC number " + g[2]
		}
		out = append(out, m)
	}
	for i, b := range c.Blk {
		m := Mapping{Pointer: "/blk/" + strconv.Itoa(i), Guest: b.Path}
		d := splitDevPath(b.Path)
		switch {
		case b.Fstype == "kernfs":
			m.Guest = "kernfs"
			m.Host = "none: the kernel's own file system"
		case b.Source == "vnd":
			m.Host = "an image file inside a file system mounted before it (vnd)"
		case b.Source == "etfs" && r.etfs != nil && r.etfs(b.Path):
			if target == EC2 {
				m.Host = "the EBS volume attached as /dev/" + b.Path
			} else {
				m.Host = "disk = ['file:IMAGE," + b.Path + ",w'] in the xl config"
			}
		case b.Source == "dev" && d != nil && contains(r.devs, d[1]):
			switch {
			case target == QEMU && d[1] == "ld":
				m.Host = "virtio-blk disk number " + d[2] + " (-drive if=virtio), partition " + d[3]
			case target == QEMU:
				m.Host = "virtio-scsi disk number " + d[2] + " (-device scsi-hd), partition " + d[3]
			case d[1] == "cd":
				m.Host = "CD-ROM number " + d[2] + " (the boot medium is cd0)"
			default:
				m.Host = "the machine's " + d[1] + " disk number " + d[2] + ", partition " + d[3]
			}
		default:
			m.Host = "none: " + r.devHelp
		}
		if b.Mountpoint != "" {
			m.Host += ", mounted at " + b.Mountpoint
		}
		out = append(out, m)
	}
	return out
}

// isXenIf reports whether name is a Xen PV interface, xenifN.
func isXenIf(name string) bool {
	m := splitUnit(name)
	return m != nil && m[1] == "xenif"
}

// clonerNote says that the launchers supply "cloner" for a Xen interface
// whose config leaves it out.
func clonerNote(n Net) string {
	if n.Cloner {
		return ""
	}
	return "; created through a cloner (the launchers add \"cloner\": true)"
}
