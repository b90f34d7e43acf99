package ec2launch

import (
	"debug/elf"
	"errors"
	"fmt"

	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/kernel"
	"github.com/rumptools/rumptools/pkg/launch"
)

// PV is the launch target of a Xen PV kernel on EC2: the instance's primary
// network interface is the only NIC (xenif0), and no disk is attached
// besides the root volume, which holds the config.
var PV = &launch.Target{
	Config: config.EC2,
	NICs:   []launch.NICModel{{Driver: "xenif", Device: "the instance's primary network interface", Max: 1}},
	Disks:  launch.DiskModel{Device: "EBS", Max: 0},
	CheckKernel: func(k *kernel.Kernel) error {
		if k.Platform != kernel.PlatformXen {
			return errors.New("not a Xen PV kernel")
		}
		return checkArch(k)
	},
}

// HVMTarget is the launch target of an hw kernel on EC2: no NIC and no disk
// can be attached, because EC2's Xen HVM instances offer network and
// storage through Xen's paravirtual front ends and SR-IOV functions (and
// an emulated IDE disk to boot from), for none of which an hw kernel has a
// driver; config.CheckTarget refuses every interface and disk the config
// names (with their positions). The config reaches the kernel as a
// multiboot module of the boot image.
var HVMTarget = &launch.Target{
	Name:   "EC2 HVM",
	Config: config.EC2,
	Disks:  launch.DiskModel{Device: "EBS", Max: 0},
	CheckKernel: func(k *kernel.Kernel) error {
		if k.Multiboot == nil {
			return errors.New("not a multiboot (hw) kernel")
		}
		return checkArch(k)
	},
}

func checkArch(k *kernel.Kernel) error {
	if k.Machine != elf.EM_X86_64 && k.Machine != elf.EM_386 {
		return fmt.Errorf("the kernel is for %s: EC2 runs rumprun's x86 kernels (i386, x86_64) here", k.Arch())
	}
	return nil
}

// TargetFor chooses the target and image type for a kernel: a Xen PV
// kernel makes a paravirtual image, an hw kernel an HVM image.
func TargetFor(k *kernel.Kernel) (*launch.Target, Virtualization, error) {
	switch {
	case k.Platform == kernel.PlatformXen:
		return PV, Paravirtual, PV.CheckKernel(k)
	case k.Multiboot != nil:
		return HVMTarget, HVM, HVMTarget.CheckKernel(k)
	}
	return nil, "", errors.New("neither a Xen PV kernel (no __xen_guest section or Xen notes) nor an hw kernel (no multiboot header): bake it for xen_pv, or hw_generic")
}

// CheckPlan refuses what the image cannot give and launch.New does not
// check: a PV image delivers the config as /json.cfg on the root volume
// (protocol rumprun) or in /boot/initrd, PV-GRUB's ramdisk (initrd/1).
// Interfaces and disks an HVM image cannot have are refused by
// config.CheckTarget, with their positions.
func CheckPlan(p *launch.Plan, v Virtualization) error {
	if v == Paravirtual && p.Protocol != launch.ProtocolRumprun && p.Protocol != launch.ProtocolInitrd {
		return fmt.Errorf("protocol %s: a Xen PV kernel on EC2 reads its config from /json.cfg on the root volume (protocol %s) or its initrd (%s)",
			p.Protocol, launch.ProtocolRumprun, launch.ProtocolInitrd)
	}
	return nil
}
