package ec2launch

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Virtualization is an image's virtualization type, as RegisterImage
// names it.
type Virtualization string

const (
	// Paravirtual images boot a Xen PV kernel through PV-GRUB.
	Paravirtual Virtualization = "paravirtual"
	// HVM images boot from the root volume through the instance's BIOS.
	HVM Virtualization = "hvm"
)

// pvGrub holds Amazon's PV-GRUB kernel images (AKIs) of the hd0 flavour,
// version 1.05, per region: i386 first, then x86_64.
//
// Source: Amazon EC2 User Guide for Linux Instances, "User provided
// kernels", section "Amazon PV-GRUB Kernel Image IDs"
// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/UserProvidedKernels.html),
// which also says to register new images with an hd0 AKI. Regions opened
// since then run HVM images only. The list of a region can be checked with
//
//	aws ec2 describe-images --owners amazon --filters Name=name,Values='pv-grub-*.gz'
var pvGrub = map[string][2]string{
	"ap-northeast-1": {"aki-f975a998", "aki-7077ab11"},
	"ap-southeast-1": {"aki-17a40074", "aki-73a50110"},
	"ap-southeast-2": {"aki-ba5665d9", "aki-66506305"},
	"eu-central-1":   {"aki-1419e57b", "aki-931fe3fc"},
	"eu-west-1":      {"aki-1c9fd86f", "aki-dc9ed9af"},
	"sa-east-1":      {"aki-7cd34110", "aki-912fbcfd"},
	"us-east-1":      {"aki-04206613", "aki-5c21674b"},
	"us-gov-west-1":  {"aki-5ee9573f", "aki-9ee55bff"},
	"us-west-1":      {"aki-43cf8123", "aki-59cc8239"},
	"us-west-2":      {"aki-7a69931a", "aki-70cb0e10"},
}

// KernelID returns the PV-GRUB hd0 AKI of a region for an architecture
// ("i386" or "x86_64").
func KernelID(region, arch string) (string, error) {
	i := 0
	switch arch {
	case "i386":
	case "x86_64":
		i = 1
	default:
		return "", fmt.Errorf("no PV-GRUB for %s kernels: Amazon's PV-GRUB boots i386 and x86_64 Xen PV kernels", arch)
	}
	akis, ok := pvGrub[region]
	if !ok {
		regions := make([]string, 0, len(pvGrub))
		for r := range pvGrub {
			regions = append(regions, r)
		}
		sort.Strings(regions)
		return "", fmt.Errorf("region %q has no PV-GRUB kernel in the table of Amazon's documentation; "+
			"paravirtual images run in %s. Give --kernel-id if the region has one "+
			"(aws ec2 describe-images --owners amazon --filters Name=name,Values='pv-grub-hd0_*-%s.gz'), "+
			"or use an hw kernel (an HVM image)", region, strings.Join(regions, ", "), arch)
	}
	return akis[i], nil
}

// family says what one instance family can boot.
type family struct {
	pv  bool // boots paravirtual images
	hvm bool // boots HVM images on Xen
}

// xenFamilies are the instance families that run on Xen, the only ones
// whose devices rumprun kernels can drive: Xen PV kernels use the Xen
// network and block front ends; hw kernels boot on the emulated BIOS and
// disk. Every other family runs on the Nitro system, which offers network
// and storage only as ENA and NVMe devices (no driver for either exists in
// rumprun), and which boots no paravirtual image.
//
// Paravirtual images run on the previous-generation families C1, C3, HS1,
// HI1, M1, M2, M3 and T1 (Amazon EC2 User Guide, "Linux AMI virtualization
// types"); current families boot HVM images only. Many of these families
// are no longer offered in every region or to every account.
var xenFamilies = map[string]family{
	"c1": {pv: true}, "m1": {pv: true}, "m2": {pv: true}, "t1": {pv: true},
	"c3": {pv: true, hvm: true}, "m3": {pv: true, hvm: true},
	"hi1": {pv: true, hvm: true}, "hs1": {pv: true, hvm: true},
	"cc1": {hvm: true}, "cc2": {hvm: true}, "cg1": {hvm: true}, "cr1": {hvm: true},
	"c4": {hvm: true}, "d2": {hvm: true}, "f1": {hvm: true}, "g2": {hvm: true},
	"g3": {hvm: true}, "g3s": {hvm: true}, "h1": {hvm: true}, "i2": {hvm: true},
	"i3": {hvm: true}, "m4": {hvm: true}, "p2": {hvm: true}, "p3": {hvm: true},
	"r3": {hvm: true}, "r4": {hvm: true}, "t2": {hvm: true}, "x1": {hvm: true},
	"x1e": {hvm: true},
}

// nitroSizes are sizes of Xen families that run on Nitro all the same.
var nitroSizes = []string{"i3.metal", "p3dn.24xlarge"}

// CheckInstanceType refuses an instance type that cannot run an image of
// the given virtualization type, saying why and what would work.
func CheckInstanceType(instanceType string, v Virtualization) error {
	fam, size, ok := strings.Cut(instanceType, ".")
	if !ok || fam == "" || size == "" {
		return fmt.Errorf("instance type %q: want FAMILY.SIZE, e.g. m3.medium", instanceType)
	}
	f, xen := xenFamilies[fam]
	if !xen || slices.Contains(nitroSizes, instanceType) || size == "metal" {
		return fmt.Errorf("instance type %s runs on the Nitro system, which offers network and storage only as ENA and NVMe devices: "+
			"rumprun kernels have no driver for either (and Nitro boots no paravirtual image). Use a Xen instance type: %s",
			instanceType, suggest(v))
	}
	if v == Paravirtual && !f.pv {
		return fmt.Errorf("instance type %s boots HVM images only; a paravirtual image (Xen PV kernel) needs a previous-generation type: %s",
			instanceType, suggest(v))
	}
	if v == HVM && !f.hvm {
		return fmt.Errorf("instance type %s boots paravirtual images only; an HVM image (hw kernel) needs: %s", instanceType, suggest(v))
	}
	return nil
}

func suggest(v Virtualization) string {
	if v == Paravirtual {
		return "c1, c3, hi1, hs1, m1, m2, m3 or t1 (e.g. m3.medium, t1.micro)"
	}
	return "t2, m3, m4, c3, c4, r3, r4, i2, i3, d2 and other Xen families (e.g. t2.micro)"
}
