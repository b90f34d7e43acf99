// Package qemu renders a launch plan (pkg/launch) as a QEMU command and runs
// it: the kernel on the multiboot loader of qemu-system-x86_64 or
// qemu-system-i386, the config delivered as the kernel's boot protocol
// needs, network interfaces and disks on fixed PCI slots so that guest
// device names do not depend on the order of options, and the serial
// console on standard output, watched for rumprun's exit markers.
//
// PCI layout (bus 0; slots 0 to 3 are the chipset's, 0x18 and up are left
// for devices added with raw arguments):
//
//	vioifN  virtio-net-pci  slot 0x04+N  (N < 8)
//	wmN     e1000           slot 0x0c+N  (N < 4)
//	ldN     virtio-blk-pci  slot 0x10+N  (N < 8), /dev/ldNa in the guest
package qemu

import (
	"debug/elf"
	"fmt"

	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/kernel"
	"github.com/rumptools/rumptools/pkg/launch"
)

// PCI slots of the first unit of each device kind; unit N is at base+N.
const (
	SlotVioif = 0x04
	SlotWm    = 0x0c
	SlotLd    = 0x10
)

// devices maps guest drivers to the QEMU device and the first slot.
var devices = map[string]struct {
	device string
	slot   int
}{
	"vioif": {"virtio-net-pci", SlotVioif},
	"wm":    {"e1000", SlotWm},
}

// Target is what QEMU can attach to an hw kernel (DESIGN.md section 6).
var Target = &launch.Target{
	Name:   "QEMU",
	Config: config.QEMU,
	NICs: []launch.NICModel{
		{Driver: "vioif", Device: "virtio-net", Max: SlotWm - SlotVioif},
		{Driver: "wm", Device: "e1000", Max: SlotLd - SlotWm},
	},
	Disks: launch.DiskModel{
		Device: "virtio-blk",
		Max:    8,
		Blk: func(unit int) config.Blk {
			return config.Blk{Source: "dev", Path: fmt.Sprintf("/dev/ld%da", unit)}
		},
	},
	CheckKernel: CheckKernel,
}

// CheckKernel refuses kernels QEMU's multiboot loader cannot boot.
func CheckKernel(k *kernel.Kernel) error {
	switch {
	case k.Platform == kernel.PlatformXen:
		return fmt.Errorf("this is a Xen PV kernel: use rump-launch-xen")
	case k.Machine != elf.EM_386 && k.Machine != elf.EM_X86_64:
		return fmt.Errorf("the kernel is for %s: QEMU here boots x86 kernels (i386, x86_64)", k.Arch())
	case k.Multiboot == nil:
		return fmt.Errorf("not a multiboot kernel (no multiboot header in the first %d bytes): bake it for an hw platform (hw_generic)", kernel.MultibootSearchLimit)
	case k.Bits == 64 && !k.Multiboot.AOutKludge():
		return fmt.Errorf("64-bit kernel whose multiboot header lacks the a.out kludge (flag 0x10000): QEMU loads only 32-bit ELF multiboot kernels without it")
	}
	return nil
}

// Binary returns the QEMU system emulator for the kernel.
func Binary(k *kernel.Kernel) string {
	if k.Bits == 32 {
		return "qemu-system-i386"
	}
	return "qemu-system-x86_64"
}
