// Package xen renders a launch plan (pkg/launch) as a Xen domain and runs it
// with xl, the way rumprun kernels expect:
//
//   - a Xen PV kernel (xen_pv, xen_pci) becomes type = "pv"; its network
//     interfaces xenifN are vifs in unit order and its disks are etfs
//     devices xvdX, disk = ['format=raw,vdev=xvdX,access=rw,target=FILE'];
//     today's kernels read the config, in wire form, from the xenstore key
//     rumprun/cfg of their domain, written between "xl create -p" and
//     "xl unpause";
//   - an hw kernel (multiboot) becomes type = "hvm" with direct kernel
//     boot (kernel, ramdisk, cmdline), its console on the emulated serial
//     port and no display adapter, and NICs wmN as vifs with model=e1000.
//
// Render builds the xl config (package pkg/xl) and what goes to xenstore;
// Run performs the command sequence, destroying the domain when a step
// after "xl create -p" fails; Script prints the same sequence as a shell
// script for -n.
package xen

import (
	"debug/elf"
	"fmt"
	"strings"

	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/kernel"
	"github.com/rumptools/rumptools/pkg/launch"
)

// Limits of what the launcher attaches. Xen itself allows more; these keep
// guest names in a range every rumprun kernel handles.
const (
	MaxVifs  = 8  // xenif0..xenif7, wm0..wm7
	MaxDisks = 16 // xvda..xvdp
)

// PV is what a Xen PV domain offers a rumprun xen_pv kernel.
var PV = &launch.Target{
	Name:   "Xen PV",
	Config: config.Xen,
	NICs:   []launch.NICModel{{Driver: "xenif", Device: "Xen vif", Max: MaxVifs}},
	Disks: launch.DiskModel{
		Device: "Xen virtual block device",
		Max:    MaxDisks,
		Blk: func(unit int) config.Blk {
			return config.Blk{Source: "etfs", Path: "xvd" + string(rune('a'+unit))}
		},
	},
	CheckKernel: checkPV,
}

// HVM is what a Xen HVM domain offers an hw kernel: e1000 NICs and no disk
// (rumprun's hw configs have no driver for the IDE or AHCI disks Xen HVM
// emulates).
var HVM = &launch.Target{
	Name:   "Xen HVM",
	Config: config.Xen,
	NICs:   []launch.NICModel{{Driver: "wm", Device: "e1000 vif", Max: MaxVifs}},
	Disks: launch.DiskModel{
		Device: "disk",
		Max:    0,
		Blk:    func(int) config.Blk { return config.Blk{} },
	},
	CheckKernel: checkHVM,
}

// TargetFor returns PV for a Xen PV kernel and HVM for an hw kernel.
func TargetFor(k *kernel.Kernel) (*launch.Target, error) {
	switch k.Platform {
	case kernel.PlatformXen:
		return PV, checkPV(k)
	case kernel.PlatformHW:
		return HVM, checkHVM(k)
	}
	return nil, fmt.Errorf("neither a Xen PV kernel (no __xen_guest section or Xen notes) nor an hw kernel (no multiboot header): bake it for xen_pv or hw_generic")
}

func checkPV(k *kernel.Kernel) error {
	if k.Platform != kernel.PlatformXen {
		return fmt.Errorf("not a Xen PV kernel")
	}
	if k.Machine != elf.EM_X86_64 && k.Machine != elf.EM_386 {
		return fmt.Errorf("the kernel is for %s: Xen PV here runs x86 kernels (i386, x86_64)", k.Arch())
	}
	return nil
}

func checkHVM(k *kernel.Kernel) error {
	switch {
	case k.Platform != kernel.PlatformHW:
		return fmt.Errorf("not an hw (multiboot) kernel")
	case k.Machine != elf.EM_386 && k.Machine != elf.EM_X86_64:
		return fmt.Errorf("the kernel is for %s: Xen HVM boots x86 kernels (i386, x86_64)", k.Arch())
	case k.Bits == 64 && !k.Multiboot.AOutKludge():
		return fmt.Errorf("64-bit kernel whose multiboot header lacks the a.out kludge (flag 0x10000): the device model's multiboot loader (QEMU) cannot boot it")
	}
	return nil
}

// CheckArgs refuses what a launcher's generic options can express but Xen
// cannot do: host backends other than a bridge or xl's own vif options
// (-I GUESTIF=BACKEND), and disks for an hw kernel (-b). It runs before
// launch.New so that the messages speak of Xen.
func CheckArgs(t *launch.Target, interfaces, disks []string) error {
	for _, arg := range interfaces {
		_, spec, _ := strings.Cut(arg, "=")
		head, _, _ := strings.Cut(spec, ",")
		switch {
		case head == "user":
			return fmt.Errorf("-I %s: Xen has no user-mode networking: put the vif on a host bridge (bridge:xenbr0, the default, or bridge=BR)", arg)
		case strings.HasPrefix(head, "tap:"):
			return fmt.Errorf("-I %s: Xen creates the vif's host interface itself and cannot use an existing tap; name it with vifname=NAME, or put it on a bridge with bridge=BR", arg)
		}
	}
	if t == HVM && len(disks) > 0 {
		return fmt.Errorf("-b %s: an hw kernel has no driver for any disk Xen HVM emulates (IDE, AHCI); "+
			"bake the files into the kernel, use an initrd (initrd/1 kernels), run the kernel with rump-launch-qemu (virtio-blk), "+
			"or bake it for xen_pv, whose etfs disks this launcher attaches", disks[0])
	}
	return nil
}
