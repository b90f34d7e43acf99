package kernel

import (
	"bytes"
	"debug/elf"
	"reflect"
	"strings"
	"testing"
)

// loaded returns the bytes a loader loads: every PT_LOAD segment's file
// bytes and, with the a.out kludge, the range the Multiboot header names.
func loaded(t *testing.T, b []byte) [][]byte {
	t.Helper()
	ef, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("debug/elf: %v", err)
	}
	var out [][]byte
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD {
			out = append(out, b[p.Off:p.Off+p.Filesz])
		}
	}
	k := inspectBytes(t, b)
	if mb := k.Multiboot; mb != nil {
		out = append(out, b[mb.Offset:mb.Offset+32])
		if mb.AOutKludge() {
			start := mb.Offset - int64(mb.HeaderAddr-mb.LoadAddr)
			out = append(out, b[start:start+int64(mb.LoadEndAddr-mb.LoadAddr)])
		}
	}
	return out
}

func stamp(t *testing.T, b []byte, rec *BakeRecord) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := Stamp(&out, bytes.NewReader(b), int64(len(b)), rec); err != nil {
		t.Fatalf("Stamp: %v", err)
	}
	return out.Bytes()
}

func TestStamp(t *testing.T) {
	rec := &BakeRecord{Config: "hw_virtio", Platform: "hw", Arch: "x86_64", Programs: []string{"a", "b"},
		Components: []string{"-lrumpvfs"}, Tool: "rump-bake test"}
	inputs := map[string][]byte{
		"hw64":          hwKernel(elf.ELFCLASS64, elf.EM_X86_64, false),
		"hw32 stripped": hwKernel(elf.ELFCLASS32, elf.EM_386, true),
		"xen":           xenPV(true),
		"no sections": telf{class: elf.ELFCLASS32, machine: elf.EM_386, noShdrs: true, secs: []tsec{
			{name: ".text", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC, addr: 0x100000, align: 0x1000, off: 0x1000, data: multibootHeader(3)},
		}, segs: []tseg{{typ: elf.PT_LOAD, sections: []string{".text"}}}}.bytes(),
		"big endian": telf{class: elf.ELFCLASS64, data: elf.ELFDATA2MSB, machine: elf.EM_PPC64, secs: []tsec{
			{name: ".text", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC, addr: 0x1000, align: 16, data: []byte("code")},
		}, segs: []tseg{{typ: elf.PT_LOAD, sections: []string{".text"}}}}.bytes(),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			before := inspectBytes(t, in)
			out := stamp(t, in, rec)
			after := inspectBytes(t, out)
			if !reflect.DeepEqual(after.Bake, rec) {
				t.Fatalf("bake record %+v", after.Bake)
			}
			after.Bake = nil
			if !reflect.DeepEqual(before, after) {
				t.Errorf("stamping changed other facts:\nbefore %+v\nafter  %+v", before, after)
			}
			if !reflect.DeepEqual(loaded(t, in), loaded(t, out)) {
				t.Error("loaded bytes differ")
			}
			ef, err := elf.NewFile(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			s := ef.Section(BakeRecordSection)
			if s == nil || s.Type != elf.SHT_NOTE || s.Flags&elf.SHF_ALLOC != 0 {
				t.Fatalf("section %+v", s)
			}
			// Every old section is still there, by name, with the same data.
			old, _ := elf.NewFile(bytes.NewReader(in))
			for _, os := range old.Sections {
				if os.Type == elf.SHT_NULL || os.Type == elf.SHT_NOBITS {
					continue
				}
				ns := ef.Section(os.Name)
				if ns == nil {
					t.Fatalf("section %q lost", os.Name)
				}
				a, _ := os.Data()
				b, _ := ns.Data()
				if os.Name != ".shstrtab" && !bytes.Equal(a, b) {
					t.Errorf("section %q changed", os.Name)
				}
			}
			if err := Stamp(&bytes.Buffer{}, bytes.NewReader(out), int64(len(out)), rec); err == nil || !strings.Contains(err.Error(), "already") {
				t.Errorf("restamp: %v", err)
			}
		})
	}
}

func TestStampRefusesWholeFileKludge(t *testing.T) {
	b := telf{class: elf.ELFCLASS64, machine: elf.EM_X86_64, secs: []tsec{
		{name: ".text", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC, addr: 0x100000, align: 0x1000, off: 0x1000,
			data: multibootHeader(0x10003, 0x100000, 0x100000, 0, 0, 0x100000)},
	}}.bytes()
	err := Stamp(&bytes.Buffer{}, bytes.NewReader(b), int64(len(b)), &BakeRecord{})
	if err == nil || !strings.Contains(err.Error(), "load_end_addr 0") {
		t.Fatalf("err %v", err)
	}
	if err := Stamp(&bytes.Buffer{}, bytes.NewReader([]byte("junk")), 4, &BakeRecord{}); err == nil {
		t.Fatal("stamped junk")
	}
}

// A stamp may declare boot protocols: type-1 notes in the same section,
// which Inspect reports, in both byte orders; nothing loaded changes.
func TestStampProtocols(t *testing.T) {
	rec := &BakeRecord{Config: "hw_generic", Platform: "hw", Arch: "x86_64", Programs: []string{"a"}, Tool: "t"}
	for name, in := range map[string][]byte{
		"hw64": hwKernel(elf.ELFCLASS64, elf.EM_X86_64, false),
		"big endian": telf{class: elf.ELFCLASS64, data: elf.ELFDATA2MSB, machine: elf.EM_PPC64, secs: []tsec{
			{name: ".text", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC, addr: 0x1000, align: 16, data: []byte("code")},
		}, segs: []tseg{{typ: elf.PT_LOAD, sections: []string{".text"}}}}.bytes(),
	} {
		var out bytes.Buffer
		if err := Stamp(&out, bytes.NewReader(in), int64(len(in)), rec, "initrd/1"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		k := inspectBytes(t, out.Bytes())
		if !reflect.DeepEqual(k.Protocols, []string{"initrd/1"}) || k.Bake == nil || k.Bake.Config != "hw_generic" {
			t.Errorf("%s: protocols %v, record %+v", name, k.Protocols, k.Bake)
		}
		if !reflect.DeepEqual(loaded(t, in), loaded(t, out.Bytes())) {
			t.Errorf("%s: loaded bytes changed", name)
		}
		ef, err := elf.NewFile(bytes.NewReader(out.Bytes()))
		if err != nil || ef.Section(BakeRecordSection) == nil {
			t.Errorf("%s: no %s section (%v)", name, BakeRecordSection, err)
		}
	}
	in := hwKernel(elf.ELFCLASS64, elf.EM_X86_64, false)
	for _, bad := range []string{"", "a\x00b"} {
		if err := Stamp(&bytes.Buffer{}, bytes.NewReader(in), int64(len(in)), rec, bad); err == nil {
			t.Errorf("protocol %q: no error", bad)
		}
	}
}
