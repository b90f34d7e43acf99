package xen

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/kernel"
	"github.com/rumptools/rumptools/pkg/launch"
	"github.com/rumptools/rumptools/pkg/xl"
)

// DefaultBridge is the host bridge a vif joins when -I names none.
const DefaultBridge = "xenbr0"

// XenstoreKey is where today's rumprun Xen PV kernels read their config,
// relative to their domain's xenstore home /local/domain/DOMID.
const XenstoreKey = "rumprun/cfg"

// xenstorePayloadMax is the largest xenstore message (XENSTORE_PAYLOAD_MAX):
// a write carries the path, a NUL and the value.
const xenstorePayloadMax = 4096

// maxDomidPath is the longest path to the config key: domain ids are below
// 32752 (DOMID_FIRST_RESERVED).
var maxDomidPath = len(XenstorePath("32751"))

// XenstorePath returns the absolute xenstore path of the config key.
func XenstorePath(domid string) string {
	return "/local/domain/" + domid + "/" + XenstoreKey
}

// Options are the Xen-specific options of the launcher.
type Options struct {
	// Destroy sets on_poweroff and on_crash to "destroy" (--rm); otherwise a
	// domain that stops is preserved, so that its console can still be read.
	Destroy bool
	// Paused leaves the domain paused once it is created and has its config
	// (-p), for a debugger or "xl unpause" by hand.
	Paused bool
	// Extra are raw xl config lines (-x), each "key = value" or
	// "key += value"; they replace the generated setting of the same key.
	Extra []string
}

// Domain is a plan rendered for Xen.
type Domain struct {
	Name string
	HVM  bool
	// Config is the xl domain configuration.
	Config *xl.Config
	// Xenstore is the value to write to XenstoreKey before the domain runs
	// (the wire form, for today's PV kernels); nil when nothing is written.
	Xenstore []byte
	// Paused: the launch ends before "xl unpause".
	Paused bool
}

// reserved are the xl keys the launcher derives from its inputs; -x may not
// set them, as the launch would then not do what the plan says.
var reserved = map[string]string{
	"name":       "use --name NAME",
	"type":       "the kernel decides: a Xen PV kernel runs as pv, an hw kernel as hvm",
	"builder":    "the kernel decides: a Xen PV kernel runs as pv, an hw kernel as hvm",
	"kernel":     "give the kernel as the KERNEL argument",
	"ramdisk":    "give the initrd as the INITRD argument",
	"bootloader": "the launcher boots the kernel directly",
	"cmdline":    "the launcher delivers the config; change it with -c, -e or the arguments after --",
	"extra":      "the launcher delivers the config; change it with -c, -e or the arguments after --",
	"root":       "the launcher delivers the config; change it with -c, -e or the arguments after --",
	"vif":        "attach interfaces with -I GUESTIF=VIFSPEC (and configure them in the config's \"net\")",
	"disk":       "attach disks with -b FILE[,MOUNTPOINT]",
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// CheckName refuses domain names that xl commands would misread (a number
// is taken for a domain id) or that cannot name the state file.
func CheckName(name string) error {
	switch {
	case !nameRE.MatchString(name) || len(name) > 64:
		return fmt.Errorf("domain name %q: use 1 to 64 letters, digits, '.', '_' or '-', not starting with '.', '_' or '-' (set it with --name NAME)", name)
	case strings.Trim(name, "0123456789") == "":
		return fmt.Errorf("domain name %q: xl takes a number for a domain id; choose a name with a letter (--name NAME)", name)
	}
	return nil
}

// vifKeys are the items of an xl vif spec (xl-network-configuration(5))
// that -I may set; mac comes through launch.Backend.MAC.
var vifKeys = map[string]bool{
	"bridge": true, "gatewaydev": true, "type": true, "vifname": true, "script": true,
	"ip": true, "backend": true, "rate": true, "mtu": true, "trusted": true, "untrusted": true,
}

// Render turns the plan into a domain. It returns warnings for things that
// work but may surprise.
func Render(p *launch.Plan, o Options) (*Domain, []string, error) {
	if err := CheckName(p.Name); err != nil {
		return nil, nil, err
	}
	d := &Domain{Name: p.Name, HVM: p.Info.Platform != kernel.PlatformXen, Config: &xl.Config{}, Paused: o.Paused}
	var warnings []string
	c := d.Config
	set := func(key string, v xl.Value, comment string) {
		c.Set(key, v)
		c.Settings[len(c.Settings)-1].Comment = comment
	}

	kernelPath, err := filepath.Abs(p.Kernel)
	if err != nil {
		return nil, nil, err
	}
	guest := "Xen PV"
	if d.HVM {
		guest = "Xen HVM (direct kernel boot)"
	}
	set("name", xl.String(p.Name), fmt.Sprintf("Written by rump-launch-xen: %s guest, boot protocol %s.", guest, p.Protocol))
	if d.HVM {
		set("type", xl.String("hvm"), "")
	} else {
		set("type", xl.String("pv"), "")
	}
	set("kernel", xl.String(kernelPath), "")
	set("memory", xl.Number(int64(p.MemoryMiB)), "")

	// The config, as the kernel's protocol reads it.
	text, err := p.ConfigText()
	if err != nil {
		return nil, nil, err
	}
	switch {
	case p.Protocol == launch.ProtocolInitrd:
		if p.Initrd != "" {
			ramdisk, err := initrdPath(p.Initrd, d.HVM)
			if err != nil {
				return nil, nil, err
			}
			set("ramdisk", xl.String(ramdisk), "The initrd: the root file system and its /json.cfg.")
		}
		if text == nil {
			break
		}
		// After the word, the kernel reads the config in canonical form
		// wherever rumprun finds it: the HVM command line, or under PV
		// xenstore's rumprun/cfg (which rumprun prefers to the PV
		// command line), as today's wire form.
		text = append([]byte(launch.WordCanonical+" "), text...)
		if !d.HVM {
			if max := xenstorePayloadMax - maxDomidPath - 1; len(text) > max {
				return nil, nil, fmt.Errorf("the config is %d bytes, over the %d bytes one xenstore write holds: put it in the initrd's /json.cfg instead", len(text), max)
			}
			d.Xenstore = text
			break
		}
		if err := checkCmdline(text, kernelPath, "on one line"); err != nil {
			return nil, nil, fmt.Errorf("%v: put it in the initrd's /json.cfg instead", err)
		}
		set("cmdline", xl.String(string(text)), "The config, replacing the initrd's /json.cfg.")
	case d.HVM:
		if err := checkCmdline(text, kernelPath, "in wire form"); err != nil {
			return nil, nil, err
		}
		set("cmdline", xl.String(string(text)), "The config in the wire form rumprun kernels read.")
	default:
		if max := xenstorePayloadMax - maxDomidPath - 1; len(text) > max {
			return nil, nil, fmt.Errorf("the config's wire form is %d bytes, over the %d bytes one xenstore write holds", len(text), max)
		}
		d.Xenstore = text
	}

	if d.HVM {
		set("serial", xl.String("pty"), "The console is the first serial port (xl console NAME); without a display\nadapter rumprun writes its console there.")
		set("vga", xl.String("none"), "")
		set("vnc", xl.Number(0), "")
	}

	vifs, names, err := vifList(p.NICs, d.HVM)
	if err != nil {
		return nil, nil, err
	}
	if len(vifs) > 0 {
		set("vif", xl.Strings(vifs...), "Guest interfaces, in order: "+strings.Join(names, ", ")+".")
	}

	if len(p.Disks) > 0 {
		disks, comment, err := diskList(p.Disks)
		if err != nil {
			return nil, nil, err
		}
		set("disk", xl.Strings(disks...), comment)
	}

	action := "preserve"
	why := "A stopped domain stays until \"xl destroy\", so that its console can be read."
	if o.Destroy {
		action, why = "destroy", ""
	}
	set("on_poweroff", xl.String(action), why)
	set("on_crash", xl.String(action), "")

	if len(o.Extra) > 0 {
		first := true
		for _, line := range o.Extra {
			s, err := ParseExtra(line)
			if err != nil {
				return nil, nil, err
			}
			if o.Destroy && (s.Key == "on_poweroff" || s.Key == "on_crash") {
				warnings = append(warnings, fmt.Sprintf("-x %s overrides -d for %s", line, s.Key))
			}
			if _, had := c.Get(s.Key); had && s.Op == xl.Assign {
				c.Set(s.Key, s.Value)
				continue
			}
			if first {
				s.Comment = "Added with -x."
				first = false
			}
			c.Settings = append(c.Settings, s)
		}
		// What xl would refuse (a list added to a string) is refused here.
		text, err := c.Marshal()
		if err == nil {
			_, err = xl.Parse("", text)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("-x: %v", err)
		}
	}
	return d, warnings, nil
}

// checkCmdline checks the size of an HVM command line: the device model
// (QEMU) boots the kernel with its multiboot loader, which puts the
// kernel's path and a space in front of the text; rumprun hw kernels panic
// on a command line over 4095 bytes. (PV kernels get their config through
// xenstore.)
func checkCmdline(text []byte, kernelPath string, how string) error {
	if n := len(kernelPath) + 1 + len(text); n > config.WireLimitHW {
		return fmt.Errorf("the config is %d bytes %s; with the kernel path and a space that the device model puts in front, the multiboot command line would be %d bytes, over the %d-byte limit of rumprun hw kernels", len(text), how, n, config.WireLimitHW)
	}
	return nil
}

// ParseExtra checks one -x line: xl syntax, one setting, not a key the
// launcher derives.
func ParseExtra(line string) (xl.Setting, error) {
	s, err := xl.ParseSetting(line)
	if err != nil {
		return s, fmt.Errorf("-x %s: %v", line, err)
	}
	if why, ok := reserved[s.Key]; ok {
		return s, fmt.Errorf("-x %s: the launcher writes %s itself: %s", line, s.Key, why)
	}
	return s, nil
}

// initrdPath returns the ramdisk setting. For HVM the device model (QEMU)
// receives it as -initrd, which splits modules at commas and takes the
// text after a space as the module's string.
func initrdPath(p string, hvm bool) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if !hvm {
		return abs, nil
	}
	if strings.ContainsAny(abs, " \t\n") {
		return "", fmt.Errorf("initrd %s: the path has a space, which QEMU's -initrd (Xen HVM's device model) cannot take: link or copy the file to a path without one", abs)
	}
	return strings.ReplaceAll(abs, ",", ",,"), nil
}

// vifList renders the NICs as xl vif specs, and lists the guest names.
func vifList(nics []launch.NIC, hvm bool) (vifs, names []string, err error) {
	for _, n := range nics {
		var items []string
		if hvm {
			items = append(items, "model=e1000")
		}
		b := n.Backend
		switch b.Kind {
		case launch.BackendUser:
			if len(b.Options) > 0 {
				return nil, nil, fmt.Errorf("%s: Xen has no user-mode networking (bridge:BR or an xl vif spec such as bridge=BR,vifname=NAME)", n.Name)
			}
			items = append(items, "bridge="+DefaultBridge)
		case launch.BackendBridge:
			items = append(items, "bridge="+b.Name)
		case launch.BackendTap:
			return nil, nil, fmt.Errorf("%s: Xen cannot attach an existing tap interface (name the vif's host interface with vifname=NAME)", n.Name)
		}
		for _, opt := range b.Options {
			key, val, hasValue := strings.Cut(opt, "=")
			flag := key == "trusted" || key == "untrusted"
			switch {
			case strings.Contains(opt, ","):
				return nil, nil, fmt.Errorf("%s: vif option %q holds a comma, which xl cannot read inside a vif item", n.Name, opt)
			case key == "model":
				return nil, nil, fmt.Errorf("%s: the launcher sets the vif model (e1000 for wmN on HVM; PV vifs have none)", n.Name)
			case key == "devid":
				return nil, nil, fmt.Errorf("%s: the launcher numbers vifs in guest interface order; devid= would change the guest's names", n.Name)
			case !vifKeys[key]:
				return nil, nil, fmt.Errorf("%s: %q is not an xl vif option (%s)", n.Name, key, strings.Join(sortedKeys(vifKeys), ", "))
			case flag && hasValue:
				return nil, nil, fmt.Errorf("%s: vif option %s takes no value", n.Name, key)
			case !flag && val == "":
				return nil, nil, fmt.Errorf("%s: vif option %s needs a value (%s=...)", n.Name, key, key)
			}
			items = append(items, opt)
		}
		items = append(items, "mac="+n.MAC)
		vifs = append(vifs, strings.Join(items, ","))
		name := n.Name
		if n.Implied {
			name += " (implied)"
		}
		names = append(names, name)
	}
	return vifs, names, nil
}

func sortedKeys(m map[string]bool) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// diskList renders the disks as xl disk specs (xl-disk-configuration(5));
// target= comes last, as it takes the rest of the spec, commas included.
func diskList(disks []launch.Disk) ([]string, string, error) {
	var specs, notes []string
	for _, d := range disks {
		abs, err := filepath.Abs(d.Path)
		if err != nil {
			return nil, "", err
		}
		switch d.Format {
		case launch.FormatRaw, launch.FormatQcow2:
		default:
			return nil, "", fmt.Errorf("-b %s: xl cannot attach a %s image; convert it: qemu-img convert -O raw %s %s.img", d.Path, d.Format, d.Path, strings.TrimSuffix(d.Path, filepath.Ext(d.Path)))
		}
		access := "rw"
		if d.ReadOnly {
			access = "ro"
		}
		specs = append(specs, fmt.Sprintf("format=%s,vdev=%s,access=%s,target=%s", d.Format, d.Guest.Path, access, abs))
		note := d.Guest.Path
		if d.Guest.Mountpoint != "" {
			note += " at " + d.Guest.Mountpoint
		}
		notes = append(notes, note)
	}
	return specs, "Disks, as etfs devices: " + strings.Join(notes, ", ") + ".", nil
}
