// Package launch builds the launch plan that every rumprun launcher shares:
// which kernel, which boot protocol, the effective json.cfg (defaults
// applied, command-line patches made), the guest's network interfaces and
// disks with their host-side backends, memory and name. A launcher turns
// its command line into Options, calls New with its Target, and renders the
// Plan in its own terms (a QEMU command, an xl config, AWS calls); the
// rendering is what its -n prints.
//
// The package also holds what launchers share at run time: the console
// Watcher that recognises rumprun's exit markers, deterministic MAC
// addresses, backend specs (-I GUESTIF=BACKEND) and disk image detection.
package launch

import (
	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/kernel"
)

// Boot protocols (DESIGN.md section 5).
const (
	// ProtocolRumprun is what every existing rumprun kernel speaks: the
	// config in wire form on the command line or as the first module, and
	// no initrd.
	ProtocolRumprun = "rumprun"
	// ProtocolInitrd is the initrd/1 protocol: the first module is a newc
	// initrd holding /json.cfg; the command line, when not empty, is a
	// canonical json.cfg that replaces it.
	ProtocolInitrd = "initrd/1"
)

// WordCanonical, on the command line before the config, tells an initrd/1
// kernel that the config is canonical (without it and without an initrd
// the kernel reads today's wire form).
const WordCanonical = "rumpboot=initrd/1"

// Plan is everything a target needs to start one guest.
type Plan struct {
	Name   string         // machine name: MAC addresses, the hypervisor's name for the guest
	Kernel string         // kernel path as given
	Info   *kernel.Kernel // what pkg/kernel read from it

	Protocol string // ProtocolRumprun or ProtocolInitrd
	Initrd   string // initrd path (ProtocolInitrd only); "" for none

	// Config is the effective config: the user's (or the initrd's) with the
	// command-line patches made and the defaults for the attached devices
	// applied.
	Config *config.Config
	// SendConfig says whether the kernel must be handed Config: always for
	// ProtocolRumprun; for ProtocolInitrd only when Config differs from the
	// initrd's /json.cfg (or there is no initrd).
	SendConfig bool

	NICs  []NIC  // by the target's model order, then unit
	Disks []Disk // by unit

	MemoryMiB int
}

// NICModel is a kind of network device a target attaches.
type NICModel struct {
	Driver string // guest driver: the interface name without its unit, e.g. "vioif"
	Device string // what the host attaches, for people: "virtio-net"
	Max    int    // units 0..Max-1 can be attached
}

// DiskModel is the kind of disk a target attaches.
type DiskModel struct {
	Device string                    // what the host attaches, for people: "virtio-blk"
	Max    int                       // disks 0..Max-1 can be attached
	Blk    func(unit int) config.Blk // the guest's view of disk unit, without mountpoint
}

// Target describes what a launcher can attach and boot.
type Target struct {
	Name   string        // for people, e.g. "QEMU"; "" uses Config
	Config config.Target // for config.CheckTarget: names, drivers, limits
	NICs   []NICModel    // in the order NICs are listed and suggested
	Disks  DiskModel

	// CheckKernel refuses kernels the target cannot boot, saying which
	// launcher to use instead. It may be nil.
	CheckKernel func(*kernel.Kernel) error
}

// NIC is one guest network interface and its host side.
type NIC struct {
	Name    string // guest interface, e.g. "vioif0"
	Model   NICModel
	Unit    int
	Backend Backend
	MAC     string // the backend's mac= or MAC(Plan.Name, Name)

	// Implied is set for an interface that neither the config nor -I names:
	// guests number devices of one driver in order, so configuring vioif1
	// needs a vioif0 in front of it.
	Implied bool
}

// Disk is one disk image attached to the guest.
type Disk struct {
	Unit     int
	Path     string     // host image
	Image               // format; ISO images are attached read-only
	Guest    config.Blk // the guest's view: source, device path, and where it is mounted ("" when not)
	ReadOnly bool
}
