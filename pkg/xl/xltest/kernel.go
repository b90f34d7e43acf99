package xltest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/rumptools/rumptools/pkg/kernel"
)

// Kernel describes a hand-made kernel image: enough ELF for pkg/kernel to
// tell a Xen PV kernel from an hw one, as DESIGN.md section 4 describes
// real rumprun kernels.
type Kernel struct {
	Xen      bool     // Xen PV: __xen_guest section, entry 0, loaded at 0; else multiboot with the a.out kludge
	Initrd   bool     // rumpboot type-1 note "initrd/1"
	Programs []string // rumpboot type-2 bake record (config xen_pv or hw_generic) with these programs; none when nil
}

const xenGuest = "GUEST_OS=rumprun,XEN_VER=xen-3.0,VIRT_BASE=0x0,ELF_PADDR_OFFSET=0x0,HYPERCALL_PAGE=0x2,LOADER=generic"

func note(owner string, typ uint32, desc []byte) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	binary.Write(&b, le, uint32(len(owner)+1))
	binary.Write(&b, le, uint32(len(desc)))
	binary.Write(&b, le, typ)
	b.WriteString(owner + "\x00")
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	b.Write(desc)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

// Bytes returns the ELF image.
func (im Kernel) Bytes() []byte {
	le := binary.LittleEndian
	const textOff = 0x1000
	base := uint64(0x100000)
	if im.Xen {
		base = 0
	}
	text := make([]byte, 0x200)
	if !im.Xen {
		const magic, flags = 0x1BADB002, 0x10003
		sum := uint32(magic + flags)
		hdr := []uint32{magic, flags, -sum,
			uint32(base), uint32(base), uint32(base) + uint32(len(text)), uint32(base) + uint32(len(text)), uint32(base) + 0x40}
		for i, v := range hdr {
			le.PutUint32(text[4*i:], v)
		}
	}
	type section struct {
		name  string
		typ   elf.SectionType
		flags elf.SectionFlag
		addr  uint64
		data  []byte
		align uint64
	}
	secs := []section{{name: ".text", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, addr: base, data: text, align: 16}}
	if im.Xen {
		secs = append(secs, section{name: "__xen_guest", typ: elf.SHT_PROGBITS, data: []byte(xenGuest + "\x00"), align: 1})
	}
	if im.Initrd {
		secs = append(secs, section{name: ".note.rumpboot", typ: elf.SHT_NOTE, data: note("rumpboot", 1, []byte("initrd/1\x00")), align: 4})
	}
	if im.Programs != nil {
		platform, cfg := "hw", "hw_generic"
		if im.Xen {
			platform, cfg = "xen", "xen_pv"
		}
		rec, _ := json.Marshal(kernel.BakeRecord{Config: cfg, Platform: platform, Arch: "x86_64", Programs: im.Programs, Tool: "xen_test"})
		secs = append(secs, section{name: ".note.rumpboot.bake", typ: elf.SHT_NOTE, data: note("rumpboot", 2, rec), align: 4})
	}
	shstr := []byte{0}
	names := make([]uint32, len(secs)+1)
	for i, s := range secs {
		names[i] = uint32(len(shstr))
		shstr = append(shstr, s.name+"\x00"...)
	}
	names[len(secs)] = uint32(len(shstr))
	shstr = append(shstr, ".shstrtab\x00"...)
	secs = append(secs, section{name: ".shstrtab", typ: elf.SHT_STRTAB, data: shstr, align: 1})

	out := make([]byte, textOff)
	offs := make([]uint64, len(secs))
	for i, s := range secs {
		for uint64(len(out))%max(s.align, 1) != 0 {
			out = append(out, 0)
		}
		offs[i] = uint64(len(out))
		out = append(out, s.data...)
	}
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	shoff := uint64(len(out))

	var sh bytes.Buffer
	sh.Write(make([]byte, 64)) // the null section
	for i, s := range secs {
		binary.Write(&sh, le, elf.Section64{
			Name: names[i], Type: uint32(s.typ), Flags: uint64(s.flags), Addr: s.addr,
			Off: offs[i], Size: uint64(len(s.data)), Addralign: s.align,
		})
	}
	out = append(out, sh.Bytes()...)

	entry := base
	var eh bytes.Buffer
	ident := [16]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)}
	binary.Write(&eh, le, elf.Header64{
		Ident: ident, Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_X86_64), Version: uint32(elf.EV_CURRENT),
		Entry: entry, Phoff: 64, Shoff: shoff, Ehsize: 64, Phentsize: 56, Phnum: 1,
		Shentsize: 64, Shnum: uint16(len(secs) + 1), Shstrndx: uint16(len(secs)),
	})
	binary.Write(&eh, le, elf.Prog64{
		Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X), Off: textOff, Vaddr: base, Paddr: base,
		Filesz: uint64(len(text)), Memsz: uint64(len(text)), Align: 0x1000,
	})
	copy(out, eh.Bytes())
	return out
}

// Write stores the image as dir/name and returns its path.
func (im Kernel) Write(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, im.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
