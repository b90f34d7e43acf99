package probe

import (
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cavaliergopher/cpio"
)

// probe-exit=N in any config text sets the exit status; QEMU then exits
// with 2N+1 through isa-debug-exit.
func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	initrd := writeFile(t, filepath.Join(dir, "initrd.gz"), gz(t, gzip.BestCompression, newcArchive(t, []entry{
		{"json.cfg", cpio.TypeReg | 0o644, `{"cmdline": "app probe-exit=5"}`},
	})))
	jsonMod := writeFile(t, filepath.Join(dir, "cfg.json"), []byte(`{"cmdline": "probe-exit=2"}`))
	for _, c := range []struct {
		name string
		o    BootOptions
		n    int
	}{
		{"cmdline", BootOptions{Append: "probe-exit= probe-exit=x probe-exit=3 probe-exit=4"}, 3},
		{"jsoncfg", BootOptions{NoAppend: true, Modules: []BootModule{{initrd, ""}}}, 5},
		{"json", BootOptions{Append: "", Modules: []BootModule{{jsonMod, ""}, {initrd, ""}}}, 2},
		{"none", BootOptions{NoAppend: true}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.o.Kernel = Kernel(t, Flavor{64, true})
			r := Boot(t, c.o)
			if r.ExitStatus != c.n || r.ProcessExit != 2*c.n+1 || !slices.Equal(r.Markers, markers(c.n)) ||
				!slices.Equal(r.Calls, []Call{{"probe", c.n}}) {
				t.Errorf("exit %d, QEMU exit %d, markers %q; want %d, %d", r.ExitStatus, r.ProcessExit, r.Markers, c.n, 2*c.n+1)
			}
			// QEMU passes the kernel's path and a space even without -append.
			if !r.HasCmdline || r.Cmdline != c.o.Kernel+" "+c.o.Append {
				t.Errorf("cmdline %q", r.Cmdline)
			}
		})
	}
}

func TestBootstrapFailure(t *testing.T) {
	r := Boot(t, BootOptions{Kernel: Kernel(t, Flavor{32, true}), Append: "probe-exit=4 probe-bootstrap-fail"})
	if !r.Ended || !r.BootstrapFailed || r.Halted || len(r.Calls) != 0 || r.ExitStatus != -1 ||
		!slices.Equal(r.Markers, []string{"=== bootstrap failed"}) || r.ProcessExit != 9 {
		t.Errorf("%+v\n%s", r, r.Output)
	}
}

// Run with QEMU as a launcher would start it, without isa-debug-exit:
// the probe halts, QEMU keeps running, and Run stops it.
func TestRunQEMUWithoutDebugExit(t *testing.T) {
	kernel := Kernel(t, Flavor{32, false})
	if _, err := exec.LookPath("qemu-system-i386"); err != nil {
		t.Skip("qemu-system-i386 not installed (Debian package qemu-system-x86)")
	}
	r := Run(t, "qemu-system-i386", "-accel", "tcg", "-m", "64", "-nodefaults", "-vga", "none",
		"-display", "none", "-serial", "stdio", "-kernel", kernel, "-append", "probe-exit=1")
	checkMem(t, r, 64)
	if !r.Killed || !r.Halted || r.ExitStatus != 1 || r.ProcessExit != -1 {
		t.Errorf("killed %v, halted %v, exit %d, process exit %d\n%s", r.Killed, r.Halted, r.ExitStatus, r.ProcessExit, r.Output)
	}
}

// The kernels are built as documented: ELF class and machine, the
// multiboot header and its flags, the a.out kludge addresses matching the
// file layout, and the rumpboot note in a section and a PT_NOTE segment.
func TestKernelImages(t *testing.T) {
	for _, fl := range Flavors {
		t.Run(fl.String(), func(t *testing.T) {
			path := Kernel(t, fl)
			f, err := elf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			wantClass, wantMachine := elf.ELFCLASS32, elf.EM_386
			if fl.Bits == 64 {
				wantClass, wantMachine = elf.ELFCLASS64, elf.EM_X86_64
			}
			syms, err := f.Symbols()
			if err != nil {
				t.Fatal(err)
			}
			var start uint64
			for _, s := range syms {
				if s.Name == "_start" {
					start = s.Value
				}
			}
			if f.Class != wantClass || f.Machine != wantMachine || f.Entry != start || start < 0x100000 {
				t.Errorf("class %v machine %v entry %#x (_start %#x)", f.Class, f.Machine, f.Entry, start)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// The header at file offset 0x1000, the start of .text at 1 MiB.
			h := raw[0x1000:]
			word := func(i int) uint32 { return binary.LittleEndian.Uint32(h[4*i:]) }
			wantFlags := uint32(0x3)
			if fl.Bits == 64 {
				wantFlags = 0x10003
			}
			if word(0) != 0x1badb002 || word(1) != wantFlags || word(0)+word(1)+word(2) != 0 {
				t.Fatalf("multiboot header %#x %#x %#x", word(0), word(1), word(2))
			}
			if fl.Bits == 64 {
				// header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr:
				// QEMU loads the file from offset 0x1000 - (header_addr - load_addr).
				if word(3) != 0x100000 || word(4) != 0x100000 || word(7) != uint32(f.Entry) {
					t.Errorf("kludge addresses %#x %#x entry %#x", word(3), word(4), word(7))
				}
				load := f.Progs[0]
				if load.Type != elf.PT_LOAD || load.Off != 0x1000 || load.Vaddr != 0x100000 ||
					uint64(word(5)) != load.Vaddr+load.Filesz || uint64(word(6)) != load.Vaddr+load.Memsz {
					t.Errorf("kludge load_end %#x bss_end %#x, segment %+v", word(5), word(6), load.ProgHeader)
				}
			}
			sec := f.Section(".note.rumpboot")
			var notes int
			for _, p := range f.Progs {
				if p.Type == elf.PT_NOTE {
					notes++
				}
			}
			if !fl.Initrd {
				if sec != nil || notes != 0 {
					t.Errorf("note section %v, %d PT_NOTE segments in a kernel without the note", sec, notes)
				}
				return
			}
			if sec == nil || sec.Type != elf.SHT_NOTE || notes != 1 {
				t.Fatalf("note section %v, %d PT_NOTE segments", sec, notes)
			}
			b, _ := sec.Data()
			want := append(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(
				binary.LittleEndian.AppendUint32(nil, 9), 9), 1), "rumpboot\x00\x00\x00\x00initrd/1\x00\x00\x00\x00"...)
			if string(b) != string(want) {
				t.Errorf("note % x, want % x", b, want)
			}
		})
	}
}
