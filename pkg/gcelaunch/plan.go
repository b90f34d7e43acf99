package gcelaunch

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/kernel"
	"github.com/rumptools/rumptools/pkg/launch"
)

// NewPlan is launch.New for Compute Engine. The instance always has its
// NIC, so vioif0 is attached (and gets DHCP from a config without "net")
// whenever the kernel may have a driver for it. An initrd given for a
// kernel that cannot read one is refused with what works on Compute
// Engine, where no disk is attached. -I names the interface only: a
// backend (-I vioif0=...) is refused.
func NewPlan(o launch.Options) (*launch.Plan, []config.Diagnostic, error) {
	for _, arg := range o.Interfaces {
		if name, _, ok := strings.Cut(arg, "="); ok {
			return nil, nil, fmt.Errorf("-I %s: Compute Engine attaches the instance's NIC itself; there is no backend to choose (write -I %s)", arg, name)
		}
	}
	k, err := kernel.Options{NoToolchain: true}.Open(o.Kernel) // the toolchain strings are not needed here
	if err != nil {
		return nil, nil, err
	}
	if err := CheckKernel(k); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", o.Kernel, err)
	}
	if o.Initrd != "" && (o.Protocol == launch.ProtocolRumprun || o.Protocol == "" && !k.Supports(launch.ProtocolInitrd)) {
		return nil, nil, fmt.Errorf("%s cannot read an initrd: it does not declare the %s boot protocol (rump-bake's kernels do, unless baked with --protocol rumprun), "+
			"and Compute Engine attaches no disk it could read files from. Bake the files into the kernel", o.Kernel, launch.ProtocolInitrd)
	}
	if !slices.Contains(o.Interfaces, "vioif0") && config.HasDriver(k, "vioif") {
		o.Interfaces = append(slices.Clone(o.Interfaces), "vioif0")
	}
	return launch.New(o, Target)
}
