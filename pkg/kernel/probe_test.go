package kernel

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rumptools/rumptools/internal/probe"
)

// TestProbeFlavors inspects the four probe kernels, a stripped copy of
// each, and a stamped copy (whose loaded bytes must not change).
func TestProbeFlavors(t *testing.T) {
	dir := t.TempDir()
	for _, fl := range probe.Flavors {
		path := probe.Kernel(t, fl)
		k, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		check := func(what string, k *Kernel, stripped bool) {
			t.Helper()
			if k.Bits != fl.Bits || k.Platform != PlatformHW || k.Multiboot == nil || k.Stripped != stripped {
				t.Fatalf("%s %s: bits %d platform %q multiboot %+v stripped %v", fl, what, k.Bits, k.Platform, k.Multiboot, k.Stripped)
			}
			switch fl.Bits {
			case 32:
				if k.Class != elf.ELFCLASS32 || k.Machine != elf.EM_386 || k.Multiboot.Flags != 0x3 || k.Multiboot.AOutKludge() {
					t.Errorf("%s %s: %v %v flags %#x", fl, what, k.Class, k.Machine, k.Multiboot.Flags)
				}
			case 64:
				mb := k.Multiboot
				if k.Class != elf.ELFCLASS64 || k.Machine != elf.EM_X86_64 || mb.Offset != 0x1000 || mb.Flags != 0x10003 ||
					mb.EntryAddr != uint32(k.Entry) || mb.LoadAddr != 0x100000 || mb.HeaderAddr != 0x100000 ||
					mb.LoadEndAddr <= mb.LoadAddr || mb.BSSEndAddr < mb.LoadEndAddr {
					t.Errorf("%s %s: %v %v entry %#x multiboot %+v", fl, what, k.Class, k.Machine, k.Entry, mb)
				}
			}
			wantProto := []string(nil)
			if fl.Initrd {
				wantProto = []string{"initrd/1"}
			}
			if !reflect.DeepEqual(k.Protocols, wantProto) {
				t.Errorf("%s %s: protocols %q", fl, what, k.Protocols)
			}
		}
		check("as built", k, false)

		if _, err := exec.LookPath("strip"); err != nil {
			t.Skip("strip not installed (Debian package binutils)")
		}
		stripped := filepath.Join(dir, fl.String()+".stripped")
		if out, err := exec.Command("strip", "-o", stripped, path).CombinedOutput(); err != nil {
			t.Fatalf("strip: %v\n%s", err, out)
		}
		ks, err := Open(stripped)
		if err != nil {
			t.Fatal(err)
		}
		check("stripped", ks, true)

		raw, _ := os.ReadFile(stripped)
		rec := &BakeRecord{Config: "hw_generic", Platform: "hw", Arch: ks.Arch(), Programs: []string{"probe"}}
		st := stamp(t, raw, rec)
		if !reflect.DeepEqual(loaded(t, raw), loaded(t, st)) {
			t.Errorf("%s: stamping changed loaded bytes", fl)
		}
		kst := inspectBytes(t, st)
		if !reflect.DeepEqual(kst.Bake, rec) {
			t.Errorf("%s: record %+v", fl, kst.Bake)
		}
		check("stamped", kst, true)
		if fl.Bits == 64 && !fl.Initrd {
			// The stamped kernel still boots.
			sp := filepath.Join(dir, "stamped64")
			os.WriteFile(sp, st, 0o644)
			r := probe.Boot(t, probe.BootOptions{Kernel: sp, Append: "probe-exit=3"})
			t.Logf("stamped probe64 booted in %v: %d calls, exit %d", r.Duration, len(r.Calls), r.ExitStatus)
			if !r.Halted || r.ExitStatus != 3 || len(r.Calls) != 1 {
				t.Errorf("stamped probe boot: halted %v exit %d calls %v\n%s", r.Halted, r.ExitStatus, r.Calls, r.Output)
			}
		}
	}
}
