package probe

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cavaliergopher/cpio"
)

// The PCI functions of QEMU's i440fx machine with -nodefaults: host
// bridge, PIIX3 ISA bridge, IDE, ACPI; then the devices the test adds.
var i440fx = []string{
	"00:00.0 8086:1237 060000",
	"00:01.0 8086:7000 060100",
	"00:01.1 8086:7010 010180",
	"00:01.3 8086:7113 068000",
}

// esc escapes bytes the way the probe prints them (written independently
// of Parse's unescape, so the two check each other).
func esc(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || (c > ' ' && c < 0x7f && c != '\\') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\x%02x", c)
		}
	}
	return b.String()
}

type entry struct {
	name string
	mode cpio.FileMode
	body string
}

// newcArchive writes entries with github.com/cavaliergopher/cpio.
func newcArchive(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := cpio.NewWriter(&buf)
	for _, e := range entries {
		h := &cpio.Header{Name: e.name, Mode: e.mode, Size: int64(len(e.body))}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(t *testing.T, level int, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// cpioLines is what the probe prints for entries of module i.
func cpioLines(i int, entries []entry) []string {
	var l []string
	for _, e := range entries {
		l = append(l, fmt.Sprintf("probe: module %d cpio %06o %d %s", i, uint32(e.mode), len(e.body), esc(e.name)))
	}
	return l
}

func checkMem(t *testing.T, r *Result, mib int) string {
	t.Helper()
	// Below 1 MiB: 640 KiB minus the EBDA; above: RAM up to the ACPI tables.
	if r.MemLowerKiB < 600 || r.MemLowerKiB > 640 {
		t.Errorf("mem lower %d KiB, want 600..640", r.MemLowerKiB)
	}
	if max := mib*1024 - 1024; r.MemUpperKiB < max-4096 || r.MemUpperKiB > max {
		t.Errorf("mem upper %d KiB, want %d..%d", r.MemUpperKiB, max-4096, max)
	}
	return fmt.Sprintf("probe: mem lower %d upper %d", r.MemLowerKiB, r.MemUpperKiB)
}

func markers(n int) []string {
	exit := fmt.Sprintf("=== _exit(%d) called ===", n)
	if n != 0 {
		exit = fmt.Sprintf("=== ERROR: _exit(%d) called ===", n)
	}
	return []string{
		`=== calling "probe" main() ===`,
		fmt.Sprintf(`=== main() of "probe" returned %d ===`, n),
		exit,
		"halted",
	}
}

// checkTranscript compares every line the probe printed.
func checkTranscript(t *testing.T, r *Result, want []string) {
	t.Helper()
	got := strings.Split(strings.TrimSuffix(string(r.Output), "\n"), "\n")
	if !slices.Equal(got, want) {
		t.Errorf("transcript differs:\n--- got\n%s\n--- want\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The acceptance: every flavour, a command line with spaces,
// quotes, a tab, commas and UTF-8, a cpio initrd and a JSON module, one
// virtio-net and one virtio-blk device; every line checked.
func TestBootFlavors(t *testing.T) {
	const appendText = "app \"double quoted\" 'single'\targ, comma,,doubled \u00fc\u2713 {\"k\": [1, 2]} \\ end"
	cfg := "{\"cmdline\": \"app\\targ\", \"env\": {\"A\": \"\u00fc\"}}\n"
	entries := []entry{
		{"etc", cpio.TypeDir | 0o755, ""},
		{"etc/hello.txt", cpio.TypeReg | 0o644, "hello, world\n"},
		{"etc/link", cpio.TypeSymlink | 0o777, "hello.txt"},
		{"json.cfg", cpio.TypeReg | 0o600, cfg},
	}
	jsonText := "\n  {\"hostname\": \"probe\", \"rc\": []}\n"
	dir := filepath.Join(t.TempDir(), "mod,dir")
	initrd := writeFile(t, filepath.Join(dir, "root,fs.cpio"), newcArchive(t, entries))
	jsonPath := writeFile(t, filepath.Join(dir, "cfg.json"), []byte(jsonText))
	disk := writeFile(t, filepath.Join(t.TempDir(), "disk.img"), make([]byte, 1<<20))
	extra := []string{
		"-device", "virtio-net-pci,netdev=n0", "-netdev", "user,id=n0",
		"-drive", "file=" + disk + ",if=none,id=d0,format=raw", "-device", "virtio-blk-pci,drive=d0",
	}
	initrdSize := len(newcArchive(t, entries))

	outputs := make([]string, len(Flavors))
	for i, f := range Flavors {
		t.Run(f.String(), func(t *testing.T) {
			kernel := Kernel(t, f)
			r := Boot(t, BootOptions{
				Kernel:    kernel,
				Append:    appendText,
				Modules:   []BootModule{{initrd, "initrd arg"}, {jsonPath, ""}},
				ExtraArgs: extra,
			})
			t.Logf("%s: boot took %v", f, r.Duration)
			want := []string{
				"probe: loader qemu",
				"probe: cmdline " + esc(kernel+" "+appendText),
				fmt.Sprintf("probe: module 0 size %d string %s", initrdSize, esc(initrd+" initrd arg")),
			}
			want = append(want, cpioLines(0, entries)...)
			want = append(want,
				"probe: module 0 jsoncfg "+esc(cfg),
				fmt.Sprintf("probe: module 1 size %d string %s", len(jsonText), esc(jsonPath)),
				"probe: module 1 json "+esc(jsonText),
				checkMem(t, r, 128))
			for _, p := range append(slices.Clone(i440fx), "00:02.0 1af4:1000 020000", "00:03.0 1af4:1001 010000") {
				want = append(want, "probe: pci "+p)
			}
			want = append(want, "probe: end")
			want = append(want, markers(0)...)
			checkTranscript(t, r, want)

			// The parsed view of the same transcript.
			if r.Loader != "qemu" || !r.HasCmdline || r.Args() != appendText {
				t.Errorf("loader %q, cmdline %q (args %q)", r.Loader, r.Cmdline, r.Args())
			}
			if len(r.Modules) != 2 {
				t.Fatalf("modules: %+v", r.Modules)
			}
			m := r.Modules[0]
			if m.Size != initrdSize || m.Gzip || m.CpioError != "" || !m.HasJSONCfg || string(m.JSONCfg) != cfg || len(m.Cpio) != len(entries) {
				t.Errorf("module 0: %+v", m)
			}
			for k, e := range entries {
				if got := m.Cpio[k]; got != (CpioEntry{uint32(e.mode), int64(len(e.body)), e.name}) {
					t.Errorf("cpio entry %d: %+v, want %+v", k, got, e)
				}
			}
			if string(r.Modules[1].JSON) != jsonText || r.Modules[1].String != jsonPath {
				t.Errorf("module 1: %+v", r.Modules[1])
			}
			if n := len(r.PCI); n != 6 || r.PCI[4].Device != 0x1000 || r.PCI[5].Class != 0x010000 {
				t.Errorf("pci: %v", r.PCI)
			}
			if r.ExitStatus != 0 || r.ProcessExit != 1 || !r.Halted || r.BootstrapFailed ||
				len(r.Calls) != 1 || r.Calls[0] != (Call{"probe", 0}) || len(r.Other) != 0 {
				t.Errorf("exit %d, QEMU exit %d, halted %v, calls %v, other %q", r.ExitStatus, r.ProcessExit, r.Halted, r.Calls, r.Other)
			}
			outputs[i] = strings.ReplaceAll(string(r.Output), esc(kernel), "KERNEL")
		})
	}
	// With and without the note, 32 and 64 bits: the same code, the same report.
	for i := range outputs {
		if outputs[i] != "" && outputs[0] != "" && outputs[i] != outputs[0] {
			t.Errorf("%s reported differently from %s:\n%s\n---\n%s", Flavors[i], Flavors[0], outputs[i], outputs[0])
		}
	}
}
