package xltest_test

import (
	"testing"

	"github.com/rumptools/rumptools/pkg/kernel"
	"github.com/rumptools/rumptools/pkg/xl/xltest"
)

func TestHandMadeImages(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		im       xltest.Kernel
		platform kernel.Platform
	}{
		{xltest.Kernel{Xen: true}, kernel.PlatformXen},
		{xltest.Kernel{Xen: true, Initrd: true, Programs: []string{"a", "b"}}, kernel.PlatformXen},
		{xltest.Kernel{}, kernel.PlatformHW},
		{xltest.Kernel{Initrd: true, Programs: []string{"hello"}}, kernel.PlatformHW},
	} {
		k, err := kernel.Open(tc.im.Write(t, dir, "k"))
		if err != nil {
			t.Fatalf("%+v: %v", tc.im, err)
		}
		if k.Platform != tc.platform || k.Bits != 64 || k.Supports("initrd/1") != tc.im.Initrd {
			t.Errorf("%+v: platform %q bits %d protocols %v", tc.im, k.Platform, k.Bits, k.Protocols)
		}
		if tc.im.Xen && k.XenGuest["GUEST_OS"] != "rumprun" {
			t.Errorf("%+v: __xen_guest %v", tc.im, k.XenGuest)
		}
		if !tc.im.Xen && (k.Multiboot == nil || !k.Multiboot.AOutKludge()) {
			t.Errorf("%+v: multiboot %+v", tc.im, k.Multiboot)
		}
		if tc.im.Programs != nil && (k.Bake == nil || len(k.Bake.Programs) != len(tc.im.Programs)) {
			t.Errorf("%+v: bake record %+v", tc.im, k.Bake)
		}
	}
}
