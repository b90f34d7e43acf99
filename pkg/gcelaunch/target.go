package gcelaunch

import (
	"debug/elf"
	"errors"
	"fmt"
	"strings"

	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/kernel"
	"github.com/rumptools/rumptools/pkg/launch"
)

// Target is Compute Engine for launch.New: one NIC, the instance's
// virtio-net interface (vioif0), and no disk: the kernel runs from its
// boot image, which hands it the config (or the initrd) as a multiboot
// module.
var Target = &launch.Target{
	Name:        "GCE",
	Config:      config.GCE,
	NICs:        []launch.NICModel{{Driver: "vioif", Device: "the instance's virtio-net NIC", Max: 1}},
	Disks:       launch.DiskModel{Device: "persistent disk", Max: 0},
	CheckKernel: CheckKernel,
}

// CheckKernel refuses kernels Compute Engine cannot boot from a BIOS disk.
func CheckKernel(k *kernel.Kernel) error {
	switch {
	case k.Platform == kernel.PlatformXen:
		return errors.New("a Xen PV kernel cannot run on Compute Engine, which runs KVM: bake for hw (hw_generic or hw_virtio)")
	case k.Multiboot == nil:
		return errors.New("not a multiboot (hw) kernel: Compute Engine boots it through GRUB from a BIOS disk")
	case k.Machine != elf.EM_X86_64 && k.Machine != elf.EM_386:
		return fmt.Errorf("the kernel is for %s: Compute Engine's BIOS images run x86 kernels (x86_64, i386)", k.Arch())
	}
	return nil
}

// DefaultMachineType is the machine type of an instance when none is given.
const DefaultMachineType = "e2-small"

// virtioFamilies are the x86 machine families whose instances can have a
// virtio-net NIC (nicType VIRTIO_NET) and boot a BIOS image from a
// persistent disk: the first and second generations of Compute Engine's
// machine series (shared-core f1 and g1 are N1).
var virtioFamilies = map[string]string{
	"e2": "E2", "n1": "N1", "f1": "N1 shared-core", "g1": "N1 shared-core", "n2": "N2", "n2d": "N2D",
	"c2": "C2", "c2d": "C2D", "t2d": "T2D", "m1": "M1", "m2": "M2", "a2": "A2",
}

// gvnicFamilies are the families whose NICs are gVNIC (or IDPF) only, and
// whose disks are NVMe only in most cases: Compute Engine's third
// generation and later, and the Arm families. rumprun has no driver for
// gVNIC, IDPF or NVMe.
var gvnicFamilies = map[string]string{
	"c3": "", "c3d": "", "c4": "", "c4d": "", "n4": "", "h3": "", "h4d": "", "z3": "",
	"m3": "", "m4": "", "x4": "", "a3": "", "a4": "", "a4x": "", "g2": "", "g4": "",
	"t2a": "Arm", "c4a": "Arm", "n4a": "Arm",
}

// CheckMachineType refuses a machine type whose instances an hw kernel
// cannot use, saying why and what works.
func CheckMachineType(t string) error {
	fam, rest, ok := strings.Cut(t, "-")
	if !ok || fam == "" || rest == "" || t != strings.ToLower(t) {
		return fmt.Errorf("machine type %q: want a Compute Engine machine type such as %s, n1-standard-1 or e2-custom-2-4096", t, DefaultMachineType)
	}
	if fam == "custom" { // custom-CPUS-MEMORY is an N1 custom machine type
		fam = "n1"
	}
	if _, ok := virtioFamilies[fam]; ok {
		return nil
	}
	works := "e2, n1 (with f1-micro and g1-small), n2, n2d, c2, c2d, t2d, m1, m2 or a2 (e.g. " + DefaultMachineType + ")"
	if arm, ok := gvnicFamilies[fam]; ok {
		if arm != "" {
			return fmt.Errorf("machine type %s has Arm CPUs: rumprun hw kernels here are x86. Use %s", t, works)
		}
		return fmt.Errorf("machine type %s offers network only as gVNIC (and disks mostly as NVMe), which rumprun has no driver for: "+
			"the kernel would have no network. Use a family with virtio-net: %s", t, works)
	}
	return fmt.Errorf("machine type %s: family %s is not one rump-launch-gce knows to offer virtio-net NICs; use %s", t, fam, works)
}
