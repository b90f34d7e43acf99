package config

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rumptools/rumptools/internal/probe"
)

// validWireForms returns the wire form of every valid corpus config that
// has one (a config whose values need JSON escapes has none, by design).
func validWireForms(t *testing.T) (names []string, wires [][]byte) {
	for _, tc := range corpus {
		if tc.err != "" {
			continue
		}
		c, _, err := Parse(tc.name, tc.data(t))
		if err != nil {
			t.Fatal(err)
		}
		w, err := c.Wire()
		if err != nil {
			t.Logf("%s: no wire form: %v", tc.name, err)
			continue
		}
		names = append(names, tc.name)
		wires = append(wires, w)
	}
	return names, wires
}

// TestWireReachesKernel boots the probe kernel (standing for today's
// rumprun kernels: no initrd note) with the wire form of every valid corpus
// config, once on the multiboot command line and once as a module, and
// checks that the kernel received it byte for byte.
func TestWireReachesKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU")
	}
	kern := probe.Kernel(t, probe.Flavor{Bits: 64})
	names, wires := validWireForms(t)
	if len(wires) < 25 {
		t.Fatalf("only %d wire forms", len(wires))
	}

	// As modules: all configs in one boot, one module each.
	t.Run("module", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		var mods []probe.BootModule
		for i, w := range wires {
			p := filepath.Join(dir, fmt.Sprintf("cfg%02d.json", i))
			if err := os.WriteFile(p, w, 0o644); err != nil {
				t.Fatal(err)
			}
			mods = append(mods, probe.BootModule{Path: p})
		}
		r := probe.Boot(t, probe.BootOptions{Kernel: kern, NoAppend: true, Modules: mods})
		if len(r.Modules) != len(wires) {
			t.Fatalf("probe saw %d modules, want %d\n%s", len(r.Modules), len(wires), r.Output)
		}
		for i, m := range r.Modules {
			if string(m.JSON) != string(wires[i]) || m.Size != len(wires[i]) {
				t.Errorf("%s: module received as\n%q (%d bytes)\nwant\n%q", names[i], m.JSON, m.Size, wires[i])
			}
		}
	})

	// On the command line: one boot per config (the probe's lock keeps at
	// most two QEMUs running).
	for i, w := range wires {
		t.Run("cmdline/"+names[i], func(t *testing.T) {
			t.Parallel()
			r := probe.Boot(t, probe.BootOptions{Kernel: kern, Append: string(w)})
			if !r.HasCmdline || r.Args() != string(w) {
				t.Errorf("command line received as\n%q\nwant\n%q", r.Args(), w)
			}
			if r.ExitStatus != 0 {
				t.Errorf("probe exit status %d", r.ExitStatus)
			}
		})
	}
}
