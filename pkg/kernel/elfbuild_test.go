package kernel

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
)

// A small ELF writer for tests: it lays out the chosen sections, optional
// program headers over them, a .shstrtab and (unless stripped) a .symtab.

type tsec struct {
	name  string
	typ   elf.SectionType
	flags elf.SectionFlag
	addr  uint64
	align uint64
	off   uint64 // file offset; 0 means next free, aligned
	data  []byte
}

type tseg struct {
	typ      elf.ProgType
	sections []string // the segment spans these (consecutive) sections
}

type telf struct {
	class    elf.Class
	data     elf.Data
	typ      elf.Type
	machine  elf.Machine
	entry    uint64
	secs     []tsec
	segs     []tseg
	stripped bool // no .symtab/.strtab
	noShdrs  bool // no section header table at all
}

func (e telf) bo() binary.ByteOrder {
	if e.data == elf.ELFDATA2MSB {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func (e telf) bytes() []byte {
	is64 := e.class == elf.ELFCLASS64
	bo := e.bo()
	ehsize, phent, shent := 52, 32, 40
	if is64 {
		ehsize, phent, shent = 64, 56, 64
	}
	secs := append([]tsec{}, e.secs...)
	if !e.stripped {
		sym := make([]byte, 16)
		if is64 {
			sym = make([]byte, 24)
		}
		secs = append(secs,
			tsec{name: ".symtab", typ: elf.SHT_SYMTAB, align: 8, data: sym},
			tsec{name: ".strtab", typ: elf.SHT_STRTAB, align: 1, data: []byte{0}})
	}
	// Names.
	shstr := []byte{0}
	nameOff := make([]int, len(secs)+1)
	for i, s := range secs {
		nameOff[i] = len(shstr)
		shstr = append(append(shstr, s.name...), 0)
	}
	nameOff[len(secs)] = len(shstr)
	shstr = append(shstr, ".shstrtab\x00"...)
	secs = append(secs, tsec{name: ".shstrtab", typ: elf.SHT_STRTAB, align: 1, data: shstr})

	out := make([]byte, ehsize+phent*len(e.segs))
	offs := make([]uint64, len(secs))
	for i, s := range secs {
		a := s.align
		if a == 0 {
			a = 1
		}
		off := s.off
		if off == 0 {
			off = (uint64(len(out)) + a - 1) / a * a
		}
		for uint64(len(out)) < off {
			out = append(out, 0)
		}
		offs[i] = off
		if s.typ != elf.SHT_NOBITS {
			out = append(out[:off], s.data...)
		}
	}
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	shoff := uint64(len(out))
	if !e.noShdrs {
		out = append(out, make([]byte, shent)...) // null section
		for i, s := range secs {
			h := make([]byte, shent)
			size := uint64(len(s.data))
			if is64 {
				bo.PutUint32(h[0:], uint32(nameOff[min(i, len(nameOff)-1)]))
				bo.PutUint32(h[4:], uint32(s.typ))
				bo.PutUint64(h[8:], uint64(s.flags))
				bo.PutUint64(h[16:], s.addr)
				bo.PutUint64(h[24:], offs[i])
				bo.PutUint64(h[32:], size)
				bo.PutUint64(h[48:], s.align)
			} else {
				bo.PutUint32(h[0:], uint32(nameOff[min(i, len(nameOff)-1)]))
				bo.PutUint32(h[4:], uint32(s.typ))
				bo.PutUint32(h[8:], uint32(s.flags))
				bo.PutUint32(h[12:], uint32(s.addr))
				bo.PutUint32(h[16:], uint32(offs[i]))
				bo.PutUint32(h[20:], uint32(size))
				bo.PutUint32(h[32:], uint32(s.align))
			}
			out = append(out, h...)
		}
	}
	// Program headers.
	find := func(name string) int {
		for i, s := range secs {
			if s.name == name {
				return i
			}
		}
		panic("no section " + name)
	}
	for j, g := range e.segs {
		first, last := find(g.sections[0]), find(g.sections[len(g.sections)-1])
		off := offs[first]
		end := offs[last] + uint64(len(secs[last].data))
		vaddr := secs[first].addr
		align := secs[first].align
		p := out[ehsize+j*phent:]
		if is64 {
			bo.PutUint32(p[0:], uint32(g.typ))
			bo.PutUint32(p[4:], uint32(elf.PF_R|elf.PF_X))
			bo.PutUint64(p[8:], off)
			bo.PutUint64(p[16:], vaddr)
			bo.PutUint64(p[24:], vaddr)
			bo.PutUint64(p[32:], end-off)
			bo.PutUint64(p[40:], end-off)
			bo.PutUint64(p[48:], align)
		} else {
			bo.PutUint32(p[0:], uint32(g.typ))
			bo.PutUint32(p[4:], uint32(off))
			bo.PutUint32(p[8:], uint32(vaddr))
			bo.PutUint32(p[12:], uint32(vaddr))
			bo.PutUint32(p[16:], uint32(end-off))
			bo.PutUint32(p[20:], uint32(end-off))
			bo.PutUint32(p[24:], uint32(elf.PF_R|elf.PF_X))
			bo.PutUint32(p[28:], uint32(align))
		}
	}
	// File header.
	h := out[:ehsize]
	copy(h, elf.ELFMAG)
	h[elf.EI_CLASS] = byte(e.class)
	h[elf.EI_DATA] = byte(e.data)
	if h[elf.EI_DATA] == 0 {
		h[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	}
	h[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	typ := e.typ
	if typ == 0 {
		typ = elf.ET_EXEC
	}
	bo.PutUint16(h[16:], uint16(typ))
	bo.PutUint16(h[18:], uint16(e.machine))
	bo.PutUint32(h[20:], 1)
	nsec := uint16(len(secs) + 1)
	var phoff uint64
	if len(e.segs) > 0 {
		phoff = uint64(ehsize)
	}
	if e.noShdrs {
		shoff, nsec = 0, 0
	}
	if is64 {
		bo.PutUint64(h[24:], e.entry)
		bo.PutUint64(h[32:], phoff)
		bo.PutUint64(h[40:], shoff)
		bo.PutUint16(h[52:], uint16(ehsize))
		bo.PutUint16(h[54:], uint16(phent))
		bo.PutUint16(h[56:], uint16(len(e.segs)))
		bo.PutUint16(h[58:], uint16(shent))
		bo.PutUint16(h[60:], nsec)
		if nsec > 0 {
			bo.PutUint16(h[62:], nsec-1)
		}
	} else {
		bo.PutUint32(h[24:], uint32(e.entry))
		bo.PutUint32(h[28:], uint32(phoff))
		bo.PutUint32(h[32:], uint32(shoff))
		bo.PutUint16(h[40:], uint16(ehsize))
		bo.PutUint16(h[42:], uint16(phent))
		bo.PutUint16(h[44:], uint16(len(e.segs)))
		bo.PutUint16(h[46:], uint16(shent))
		bo.PutUint16(h[48:], nsec)
		if nsec > 0 {
			bo.PutUint16(h[50:], nsec-1)
		}
	}
	return out
}

// note encodes one ELF note with 4-byte alignment.
func note(bo binary.ByteOrder, owner string, typ uint32, desc []byte) []byte {
	var b bytes.Buffer
	name := append([]byte(owner), 0)
	hdr := make([]byte, 12)
	bo.PutUint32(hdr[0:], uint32(len(name)))
	bo.PutUint32(hdr[4:], uint32(len(desc)))
	bo.PutUint32(hdr[8:], typ)
	b.Write(hdr)
	b.Write(name)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	b.Write(desc)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

// multibootHeader encodes a Multiboot v1 header with the a.out kludge when
// addrs is given.
func multibootHeader(flags uint32, addrs ...uint32) []byte {
	b := make([]byte, 12+4*len(addrs))
	le := binary.LittleEndian
	le.PutUint32(b[0:], MultibootMagic)
	le.PutUint32(b[4:], flags)
	le.PutUint32(b[8:], -(MultibootMagic + flags))
	for i, a := range addrs {
		le.PutUint32(b[12+4*i:], a)
	}
	return b
}
