package kernel

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const xenGuestString = "GUEST_OS=rumprun,XEN_VER=xen-3.0,VIRT_BASE=0x0,ELF_PADDR_OFFSET=0x0,HYPERCALL_PAGE=0x2,LOADER=generic"

var le = binary.LittleEndian

func recipeDesc(tuple, tooldir, cc, cflags string) []byte {
	return []byte("rumprun_tuple: " + tuple + "\x00rumprun_tooldir: " + tooldir +
		"\x00rumprun_backingcc: " + cc + "\x00rumprun_cflags: " + cflags + "\x00")
}

// xenPV mimics a rumprun xen_pv kernel: ELF64 x86-64, entry 0, loaded at 0,
// no multiboot header, a __xen_guest section and the recipe note in its own
// note segment.
func xenPV(stripped bool) []byte {
	text := make([]byte, 0x3000)
	copy(text[0x100:], "some code")
	return telf{
		class: elf.ELFCLASS64, machine: elf.EM_X86_64, entry: 0, stripped: stripped,
		secs: []tsec{
			{name: ".text", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, addr: 0, align: 0x1000, off: 0x1000, data: text},
			{name: ".note.rumprun.bakerecipe", typ: elf.SHT_NOTE, flags: elf.SHF_ALLOC, addr: 0x3000, align: 4,
				data: note(le, RecipeOwner, RecipeType, recipeDesc("x86_64-rumprun-netbsd", "/opt/rumprun/rumprun-x86_64", "cc", "-m64"))},
			{name: "__xen_guest", typ: elf.SHT_PROGBITS, align: 1, data: []byte(xenGuestString + "\x00")},
		},
		segs: []tseg{
			{typ: elf.PT_LOAD, sections: []string{".text"}},
			{typ: elf.PT_NOTE, sections: []string{".note.rumprun.bakerecipe"}},
		},
	}.bytes()
}

// hwKernel mimics a baked rumprun hw kernel: the multiboot header at file
// offset 0x1000 with the a.out kludge, the recipe folded into .text as plain
// strings.
func hwKernel(class elf.Class, machine elf.Machine, stripped bool, extra ...tsec) []byte {
	text := make([]byte, 0x2000)
	copy(text, multibootHeader(0x10003, 0x100000, 0x100000, 0x102000, 0x108000, 0x100020))
	copy(text[0x800:], recipeDesc("x86_64-rumprun-netbsd", "/opt/rr", "x86_64-linux-gnu-gcc", "-O2 -g"))
	return telf{
		class: class, machine: machine, entry: 0x100020, stripped: stripped,
		secs: append([]tsec{
			{name: ".text", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, addr: 0x100000, align: 0x1000, off: 0x1000, data: text},
		}, extra...),
		segs: []tseg{{typ: elf.PT_LOAD, sections: []string{".text"}}},
	}.bytes()
}

func inspectBytes(t *testing.T, b []byte) *Kernel {
	t.Helper()
	k, err := Inspect(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	return k
}

func TestXenPV(t *testing.T) {
	for _, stripped := range []bool{false, true} {
		b := xenPV(stripped)
		k := inspectBytes(t, b)
		if k.Class != elf.ELFCLASS64 || k.Machine != elf.EM_X86_64 || k.Entry != 0 || k.Bits != 64 {
			t.Errorf("stripped=%v: class %v machine %v entry %#x bits %d", stripped, k.Class, k.Machine, k.Entry, k.Bits)
		}
		if k.Platform != PlatformXen {
			t.Errorf("stripped=%v: platform %q, want xen", stripped, k.Platform)
		}
		if k.Multiboot != nil {
			t.Errorf("stripped=%v: unexpected multiboot header %+v", stripped, k.Multiboot)
		}
		want := map[string]string{"GUEST_OS": "rumprun", "XEN_VER": "xen-3.0", "VIRT_BASE": "0x0",
			"ELF_PADDR_OFFSET": "0x0", "HYPERCALL_PAGE": "0x2", "LOADER": "generic"}
		if !reflect.DeepEqual(k.XenGuest, want) {
			t.Errorf("stripped=%v: XenGuest %v", stripped, k.XenGuest)
		}
		if k.XenGuestRaw != xenGuestString {
			t.Errorf("stripped=%v: XenGuestRaw %q", stripped, k.XenGuestRaw)
		}
		wantTC := Toolchain{"x86_64-rumprun-netbsd", "/opt/rumprun/rumprun-x86_64", "cc", "-m64"}
		if k.Toolchain != wantTC || !k.RecipeNote {
			t.Errorf("stripped=%v: toolchain %+v", stripped, k.Toolchain)
		}
		if k.Stripped != stripped {
			t.Errorf("Stripped = %v, want %v", k.Stripped, stripped)
		}
		if k.Bake != nil || len(k.Protocols) != 0 {
			t.Errorf("unexpected notes: %+v %v", k.Bake, k.Protocols)
		}
		// Cross-check with debug/elf.
		ef, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if ef.Entry != k.Entry || ef.Machine != k.Machine || ef.Class != k.Class {
			t.Errorf("debug/elf disagrees: %v %v %v", ef.Entry, ef.Machine, ef.Class)
		}
	}
}

func TestXenNotesMakeXen(t *testing.T) {
	b := telf{class: elf.ELFCLASS64, machine: elf.EM_X86_64, secs: []tsec{
		{name: ".note.Xen", typ: elf.SHT_NOTE, flags: elf.SHF_ALLOC, align: 4,
			data: append(note(le, "Xen", 6, []byte("linux\x00")), note(le, "Xen", 5, []byte("xen-3.0\x00"))...)},
	}}.bytes()
	k := inspectBytes(t, b)
	if k.Platform != PlatformXen || len(k.XenNotes) != 2 || k.XenNotes[0].Type != 6 || string(k.XenNotes[1].Desc) != "xen-3.0\x00" {
		t.Fatalf("platform %q notes %+v", k.Platform, k.XenNotes)
	}
	if k.XenGuest != nil {
		t.Errorf("XenGuest %v without a __xen_guest section", k.XenGuest)
	}
}

func TestHWKernelToolchainStrings(t *testing.T) {
	for _, c := range []struct {
		class   elf.Class
		machine elf.Machine
		bits    int
	}{{elf.ELFCLASS32, elf.EM_386, 32}, {elf.ELFCLASS64, elf.EM_X86_64, 64}} {
		for _, stripped := range []bool{false, true} {
			k := inspectBytes(t, hwKernel(c.class, c.machine, stripped))
			if k.Bits != c.bits || k.Machine != c.machine || k.Entry != 0x100020 || k.Stripped != stripped {
				t.Errorf("%v: bits %d machine %v entry %#x stripped %v", c.class, k.Bits, k.Machine, k.Entry, k.Stripped)
			}
			want := &MultibootHeader{Offset: 0x1000, Flags: 0x10003, HeaderAddr: 0x100000, LoadAddr: 0x100000,
				LoadEndAddr: 0x102000, BSSEndAddr: 0x108000, EntryAddr: 0x100020}
			if !reflect.DeepEqual(k.Multiboot, want) || !k.Multiboot.AOutKludge() {
				t.Errorf("%v: multiboot %+v", c.class, k.Multiboot)
			}
			if k.Platform != PlatformHW {
				t.Errorf("platform %q", k.Platform)
			}
			wantTC := Toolchain{"x86_64-rumprun-netbsd", "/opt/rr", "x86_64-linux-gnu-gcc", "-O2 -g"}
			if k.Toolchain != wantTC || k.RecipeNote {
				t.Errorf("toolchain %+v", k.Toolchain)
			}
		}
	}
}

func TestBakeRecordAppendedSection(t *testing.T) {
	rec := BakeRecord{Config: "hw_generic", Platform: "hw", Arch: "x86_64",
		Programs: []string{"hello", "world"}, Components: []string{"-lrumpvfs", "-lrumpdev"}, Tool: "rump-bake test"}
	js, _ := json.Marshal(rec)
	b := hwKernel(elf.ELFCLASS64, elf.EM_X86_64, false,
		tsec{name: BakeRecordSection, typ: elf.SHT_NOTE, align: 4, data: note(le, NoteOwner, NoteBakeRecord, js)})
	k := inspectBytes(t, b)
	if !reflect.DeepEqual(k.Bake, &rec) {
		t.Fatalf("bake record %+v, want %+v", k.Bake, rec)
	}
}

func TestProtocolNotes(t *testing.T) {
	notes := append(note(le, NoteOwner, NoteProtocol, []byte("initrd/1\x00")), note(le, "GNU", 1, []byte{1, 2, 3, 4})...)
	notes = append(notes, note(le, NoteOwner, NoteProtocol, []byte("initrd/1\x00"))...)
	notes = append(notes, note(le, NoteOwner, NoteProtocol, []byte("rumprun\x00"))...)
	for _, noShdrs := range []bool{false, true} {
		b := telf{class: elf.ELFCLASS32, machine: elf.EM_386, noShdrs: noShdrs, secs: []tsec{
			{name: ".text", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC, addr: 0x100000, align: 0x1000, off: 0x1000,
				data: multibootHeader(3)},
			{name: ".note.rumpboot", typ: elf.SHT_NOTE, flags: elf.SHF_ALLOC, addr: 0x100100, align: 4, data: notes},
		}, segs: []tseg{
			{typ: elf.PT_LOAD, sections: []string{".text"}},
			{typ: elf.PT_NOTE, sections: []string{".note.rumpboot"}},
		}}.bytes()
		k := inspectBytes(t, b)
		if !reflect.DeepEqual(k.Protocols, []string{"initrd/1", "rumprun"}) {
			t.Errorf("noShdrs=%v: protocols %q", noShdrs, k.Protocols)
		}
		if !k.Supports("initrd/1") || k.Supports("initrd/2") {
			t.Errorf("Supports wrong")
		}
		if k.Multiboot == nil || k.Multiboot.Flags != 3 || k.Multiboot.AOutKludge() {
			t.Errorf("multiboot %+v", k.Multiboot)
		}
	}
}

func TestBigEndian(t *testing.T) {
	be := binary.BigEndian
	b := telf{class: elf.ELFCLASS64, data: elf.ELFDATA2MSB, machine: elf.EM_PPC64, entry: 0x1234, secs: []tsec{
		{name: ".note.rumpboot", typ: elf.SHT_NOTE, align: 4, data: note(be, NoteOwner, NoteProtocol, []byte("initrd/1\x00"))},
	}}.bytes()
	k := inspectBytes(t, b)
	if k.Data != elf.ELFDATA2MSB || k.Entry != 0x1234 || !k.Supports("initrd/1") || k.Arch() != "powerpc64" {
		t.Fatalf("%+v", k)
	}
}

func TestMarshalJSON(t *testing.T) {
	k := inspectBytes(t, hwKernel(elf.ELFCLASS64, elf.EM_X86_64, true))
	js, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	mb := m["multiboot"].(map[string]any)
	if m["class"] != "ELFCLASS64" || m["arch"] != "x86_64" || m["platform"] != "hw" || m["entry"] != "0x100020" ||
		mb["flags"] != "0x10003" || mb["offset"] != float64(0x1000) || mb["aout_kludge"] != true || m["stripped"] != true {
		t.Fatalf("JSON %s", js)
	}
	if tc := m["toolchain"].(map[string]any); tc["tuple"] != "x86_64-rumprun-netbsd" {
		t.Fatalf("JSON toolchain %v", tc)
	}
}

func TestErrors(t *testing.T) {
	good := hwKernel(elf.ELFCLASS64, elf.EM_X86_64, false)
	shoff := le.Uint64(good[40:])
	mod := func(f func(b []byte) []byte) []byte {
		b := append([]byte{}, good...)
		return f(b)
	}
	badNote := telf{class: elf.ELFCLASS64, machine: elf.EM_X86_64, secs: []tsec{
		{name: ".note.x", typ: elf.SHT_NOTE, align: 4, data: []byte{9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'a', 'b'}},
	}}.bytes()
	badJSON := telf{class: elf.ELFCLASS64, machine: elf.EM_X86_64, secs: []tsec{
		{name: BakeRecordSection, typ: elf.SHT_NOTE, align: 4, data: note(le, NoteOwner, NoteBakeRecord, []byte("{\"config\":"))},
	}}.bytes()
	shortMB := telf{class: elf.ELFCLASS32, machine: elf.EM_386, secs: []tsec{
		{name: ".text", typ: elf.SHT_PROGBITS, off: 8192 - 16, data: multibootHeader(0x10003, 1, 2, 3, 4, 5)},
	}}.bytes()
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "not an ELF file"},
		{"text", []byte("#!/bin/sh\necho hello\n"), "not an ELF file"},
		{"magic only", []byte("\x7fELF\x02\x01"), "truncated ELF identification (6 bytes) at offset 0"},
		{"bad class", mod(func(b []byte) []byte { b[4] = 7; return b }), "unknown ELF class 7 at offset 4"},
		{"bad data", mod(func(b []byte) []byte { b[5] = 0; return b }), "unknown ELF data encoding 0 at offset 5"},
		{"bad version", mod(func(b []byte) []byte { b[6] = 2; return b }), "unknown ELF version 2 at offset 6"},
		{"truncated header", good[:40], "truncated ELF header (64 bytes; file has 40) at offset 0"},
		{"truncated shdrs", good[:shoff+100], "truncated section header table"},
		{"shdrs beyond EOF", mod(func(b []byte) []byte { le.PutUint64(b[40:], 1<<62); return b }),
			"truncated section header table (5 entries of 64 bytes; file has"},
		{"shstrndx out of range", mod(func(b []byte) []byte { le.PutUint16(b[62:], 99); return b }),
			"section name table index 99 out of range (5 sections)"},
		{"small shentsize", mod(func(b []byte) []byte { le.PutUint16(b[58:], 10); return b }),
			"invalid section header size 10 (want at least 64)"},
		{"phdrs beyond EOF", mod(func(b []byte) []byte { le.PutUint64(b[32:], uint64(len(b)-20)); return b }),
			"truncated program header table (1 entries of 56 bytes"},
		{"truncated note", badNote, "truncated note name in section .note.x (name size 9) at offset"},
		{"bad bake record", badJSON, "bake record note: unexpected end of JSON input at offset"},
		{"truncated multiboot", shortMB, "truncated multiboot header (flags 0x10003 need 32 bytes) at offset 8176"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := Inspect(bytes.NewReader(c.in), int64(len(c.in)))
			if err == nil {
				t.Fatalf("no error, got %+v", k)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want it to contain %q", err, c.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FormatError", err)
			}
			if (c.want == "not an ELF file") != errors.Is(err, ErrNotELF) {
				t.Fatalf("errors.Is(ErrNotELF) wrong for %q", err)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "xen.bin")
	if err := os.WriteFile(p, xenPV(true), 0o644); err != nil {
		t.Fatal(err)
	}
	k, err := Open(p)
	if err != nil || k.Platform != PlatformXen {
		t.Fatalf("Open: %v %+v", err, k)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Open(dir): %v", err)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("nope"), 0o644)
	if _, err := Open(bad); err == nil || err.Error() != bad+": not an ELF file" {
		t.Fatalf("Open(bad): %v", err)
	}
}

func FuzzInspect(f *testing.F) {
	rec, _ := json.Marshal(BakeRecord{Config: "hw_generic", Programs: []string{"a"}})
	seeds := [][]byte{
		xenPV(false), xenPV(true),
		hwKernel(elf.ELFCLASS32, elf.EM_386, true),
		hwKernel(elf.ELFCLASS64, elf.EM_X86_64, false,
			tsec{name: BakeRecordSection, typ: elf.SHT_NOTE, align: 4, data: note(le, NoteOwner, NoteBakeRecord, rec)}),
		telf{class: elf.ELFCLASS32, machine: elf.EM_386, noShdrs: true, secs: []tsec{
			{name: ".n", typ: elf.SHT_NOTE, align: 4, data: note(le, NoteOwner, NoteProtocol, []byte("initrd/1\x00"))},
		}, segs: []tseg{{typ: elf.PT_NOTE, sections: []string{".n"}}}}.bytes(),
		[]byte("\x7fELF"),
	}
	for _, s := range seeds {
		f.Add(s)
		if len(s) > 200 {
			f.Add(s[:len(s)/2])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := Inspect(bytes.NewReader(b), int64(len(b)))
		if err == nil && k == nil {
			t.Fatal("nil kernel without error")
		}
		if err != nil && k != nil {
			t.Fatal("kernel with error")
		}
		if err == nil {
			if _, err := json.Marshal(k); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestRealToolchain links small images with the host assembler and linker
// (as real kernels are made) and inspects them before and after strip.
func TestRealToolchain(t *testing.T) {
	for _, tool := range []string{"as", "ld", "strip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian package binutils)", tool)
		}
	}
	dir := t.TempDir()
	run := func(name string, args ...string) {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	hw := `
	.section .text
	.align 4
	.long 0x1BADB002, 0x3, -(0x1BADB002 + 0x3)
	.globl _start
_start:	hlt
	.asciz "rumprun_tuple: i486-rumprun-netbsdelf"
	.asciz "rumprun_tooldir: /x"
	.asciz "rumprun_backingcc: gcc"
	.asciz "rumprun_cflags: -m32"
	.section .note.rumpboot,"a",@note
	.long 9, 9, 1
	.asciz "rumpboot"
	.align 4
	.asciz "initrd/1"
	.align 4
`
	xen := `
	.section .text
	.globl _start
_start:	hlt
	.section __xen_guest
	.asciz "` + xenGuestString + `"
`
	for _, c := range []struct {
		name, src string
		ldargs    []string
		check     func(k *Kernel) bool
	}{
		{"hw32", hw, []string{"-m", "elf_i386", "-Ttext=0x100000"}, func(k *Kernel) bool {
			return k.Bits == 32 && k.Platform == PlatformHW && k.Multiboot != nil && k.Multiboot.Flags == 3 &&
				k.Supports("initrd/1") && k.Toolchain.Tuple == "i486-rumprun-netbsdelf" && k.Toolchain.CFlags == "-m32"
		}},
		{"xen64", xen, []string{"-m", "elf_x86_64", "-Ttext=0", "-e", "0"}, func(k *Kernel) bool {
			return k.Bits == 64 && k.Entry == 0 && k.Platform == PlatformXen && k.XenGuest["GUEST_OS"] == "rumprun"
		}},
	} {
		src := filepath.Join(dir, c.name+".s")
		obj := filepath.Join(dir, c.name+".o")
		bin := filepath.Join(dir, c.name+".bin")
		os.WriteFile(src, []byte(c.src), 0o644)
		asArgs := []string{"--64"}
		if c.name == "hw32" {
			asArgs = []string{"--32"}
		}
		run("as", append(asArgs, "-o", obj, src)...)
		run("ld", append(c.ldargs, "-o", bin, obj)...)
		run("strip", "-o", bin+".stripped", bin)
		// A stamped copy: binutils read it, and strip keeps the record.
		raw, _ := os.ReadFile(bin)
		rec := &BakeRecord{Config: c.name, Programs: []string{"x"}}
		var st bytes.Buffer
		if err := Stamp(&st, bytes.NewReader(raw), int64(len(raw)), rec); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(bin+".stamped", st.Bytes(), 0o644)
		out, err := exec.Command("readelf", "-W", "-n", bin+".stamped").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "rumpboot") || strings.Contains(string(out), "Warning") {
			t.Errorf("readelf -n: %v\n%s", err, out)
		}
		run("strip", "-o", bin+".stamped.stripped", bin+".stamped")
		for _, p := range []string{bin + ".stamped", bin + ".stamped.stripped"} {
			k, err := Open(p)
			if err != nil || !reflect.DeepEqual(k.Bake, rec) {
				t.Errorf("%s: %v %+v", p, err, k)
			}
		}
		for _, p := range []string{bin, bin + ".stripped"} {
			k, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(k) || k.Stripped != strings.HasSuffix(p, ".stripped") {
				js, _ := json.Marshal(k)
				t.Errorf("%s: unexpected %s", p, js)
			}
		}
	}
}
