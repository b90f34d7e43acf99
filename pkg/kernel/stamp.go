package kernel

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// EncodeNote returns one ELF note (4-byte aligned) in the given byte order.
func EncodeNote(bo binary.ByteOrder, owner string, typ uint32, desc []byte) []byte {
	name := append([]byte(owner), 0)
	b := make([]byte, 12, 12+alignUp(uint64(len(name)), 4)+alignUp(uint64(len(desc)), 4))
	bo.PutUint32(b[0:], uint32(len(name)))
	bo.PutUint32(b[4:], uint32(len(desc)))
	bo.PutUint32(b[8:], typ)
	b = append(b, name...)
	b = append(b, make([]byte, alignUp(uint64(len(b)), 4)-uint64(len(b)))...)
	b = append(b, desc...)
	b = append(b, make([]byte, alignUp(uint64(len(b)), 4)-uint64(len(b)))...)
	return b
}

// Stamp writes to w a copy of the kernel image src (size bytes) that
// carries rec as a rumpboot type-2 note in a new section named
// BakeRecordSection, preceded in that section by a type-1 note for each
// boot protocol given (the bake linked in the support, so it may declare
// it, where the kernel's linker script drops notes of its own). See
// AppendNote for what changes and what does not.
func Stamp(w io.Writer, src io.ReaderAt, size int64, rec *BakeRecord, protocols ...string) error {
	k, err := Inspect(src, size)
	if err != nil {
		return err
	}
	if k.Bake != nil {
		return errors.New("kernel already carries a bake record")
	}
	js, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	bo := binary.ByteOrder(binary.LittleEndian)
	if k.Data == elf.ELFDATA2MSB {
		bo = binary.BigEndian
	}
	var notes []byte
	for _, p := range protocols {
		if p == "" || strings.ContainsRune(p, 0) {
			return fmt.Errorf("bad boot protocol name %q", p)
		}
		notes = append(notes, EncodeNote(bo, NoteOwner, NoteProtocol, append([]byte(p), 0))...)
	}
	notes = append(notes, EncodeNote(bo, NoteOwner, NoteBakeRecord, append(js, 0))...)
	return appendNotes(w, src, size, BakeRecordSection, notes)
}

// AppendNote writes to w a copy of the ELF image src (size bytes) with one
// more section: a non-allocated SHT_NOTE section named section holding one
// note. The program headers, every segment and the Multiboot header stay
// byte for byte where they were; only the ELF header's section header
// fields change, and new bytes follow the old content: the note, a new
// section name table and a new section header table. (A section header
// table that ended the file is replaced rather than kept as dead bytes.)
//
// It refuses images whose Multiboot a.out kludge loads the whole file
// (load_end_addr 0), since appended bytes would then be loaded too.
func AppendNote(w io.Writer, src io.ReaderAt, size int64, section, owner string, typ uint32, desc []byte) error {
	k, err := Inspect(src, size)
	if err != nil {
		return err
	}
	bo := binary.ByteOrder(binary.LittleEndian)
	if k.Data == elf.ELFDATA2MSB {
		bo = binary.BigEndian
	}
	return appendNotes(w, src, size, section, EncodeNote(bo, owner, typ, desc))
}

// appendNotes is AppendNote for encoded notes (nb, 4-byte aligned).
func appendNotes(w io.Writer, src io.ReaderAt, size int64, section string, nb []byte) error {
	k, err := Inspect(src, size)
	if err != nil {
		return err
	}
	if mb := k.Multiboot; mb != nil && mb.AOutKludge() && mb.LoadEndAddr == 0 {
		return errors.New("the multiboot a.out kludge loads the whole file (load_end_addr 0): appending a note would change what is loaded")
	}
	f := &elfFile{r: src, size: size, is64: k.Class == elf.ELFCLASS64}
	f.bo = binary.LittleEndian
	if k.Data == elf.ELFDATA2MSB {
		f.bo = binary.BigEndian
	}
	bo := f.bo
	ehsize, shentMin := uint64(52), uint64(40)
	if f.is64 {
		ehsize, shentMin = 64, 64
	}
	hdr, err := f.read(0, ehsize, "ELF header")
	if err != nil {
		return err
	}
	var phoff, shoff, phentsize, phnum, shentsize, shnum, shstrndx uint64
	if f.is64 {
		phoff, shoff = bo.Uint64(hdr[32:]), bo.Uint64(hdr[40:])
		phentsize, phnum = uint64(bo.Uint16(hdr[54:])), uint64(bo.Uint16(hdr[56:]))
		shentsize, shnum, shstrndx = uint64(bo.Uint16(hdr[58:])), uint64(bo.Uint16(hdr[60:])), uint64(bo.Uint16(hdr[62:]))
	} else {
		phoff, shoff = uint64(bo.Uint32(hdr[28:])), uint64(bo.Uint32(hdr[32:]))
		phentsize, phnum = uint64(bo.Uint16(hdr[42:])), uint64(bo.Uint16(hdr[44:]))
		shentsize, shnum, shstrndx = uint64(bo.Uint16(hdr[46:])), uint64(bo.Uint16(hdr[48:])), uint64(bo.Uint16(hdr[50:]))
	}
	if shoff == 0 {
		shnum, shstrndx, shentsize = 0, 0, shentMin
	}
	if shoff != 0 && (shnum == 0 || shstrndx >= uint64(elf.SHN_LORESERVE) || phnum == 0xffff) {
		return errors.New("extended section numbering is not supported")
	}
	if shnum+3 >= uint64(elf.SHN_LORESERVE) {
		return fmt.Errorf("too many sections (%d)", shnum)
	}

	// Old section headers (Inspect has checked that they fit the file).
	var shtab []byte
	if shnum > 0 {
		if shtab, err = f.read(shoff, shnum*shentsize, "section header table"); err != nil {
			return err
		}
	}

	// The end of everything but the section header table: when that table
	// ends the file, the copy stops before it.
	end := ehsize
	if phnum > 0 {
		end = max(end, phoff+phnum*phentsize)
		for i := uint64(0); i < phnum; i++ {
			p, err := f.read(phoff+i*phentsize, phentsize, "program header")
			if err != nil {
				return err
			}
			var off, filesz uint64
			if f.is64 {
				off, filesz = bo.Uint64(p[8:]), bo.Uint64(p[32:])
			} else {
				off, filesz = uint64(bo.Uint32(p[4:])), uint64(bo.Uint32(p[16:]))
			}
			end = max(end, off+filesz)
		}
	}
	var oldNames []byte
	var names shdr
	for i := uint64(0); i < shnum; i++ {
		s := f.parseSection(shtab[i*shentsize:])
		if s.typ != elf.SHT_NOBITS && s.typ != elf.SHT_NULL {
			end = max(end, s.off+s.size)
		}
		if i == shstrndx && i != 0 {
			names = s
		}
	}
	if mb := k.Multiboot; mb != nil && mb.AOutKludge() {
		// The kludge loads load_end_addr-load_addr bytes from the file
		// position that corresponds to load_addr.
		start := uint64(mb.Offset) - uint64(mb.HeaderAddr-mb.LoadAddr)
		kend := start + uint64(mb.LoadEndAddr-mb.LoadAddr)
		if mb.HeaderAddr < mb.LoadAddr || uint64(mb.Offset) < uint64(mb.HeaderAddr-mb.LoadAddr) || mb.LoadEndAddr < mb.LoadAddr || kend > uint64(size) {
			return fmt.Errorf("the multiboot a.out kludge addresses (header %#x load %#x-%#x) do not lie inside the file", mb.HeaderAddr, mb.LoadAddr, mb.LoadEndAddr)
		}
		end = max(end, kend)
	}
	keep := uint64(size)
	if shnum > 0 && shoff+shnum*shentsize == uint64(size) && end <= shoff {
		keep = shoff
	}

	if shstrndx != 0 && names.typ != elf.SHT_NOBITS {
		if oldNames, err = f.read(names.off, names.size, "section name table"); err != nil {
			return err
		}
	}
	newNames := append([]byte{}, oldNames...)
	if len(newNames) == 0 {
		newNames = []byte{0}
	}
	createNames := shstrndx == 0
	var namesName uint64
	if createNames {
		namesName = uint64(len(newNames))
		newNames = append(newNames, ".shstrtab\x00"...)
	}
	noteName := uint64(len(newNames))
	newNames = append(append(newNames, section...), 0)
	if bytes.ContainsRune([]byte(section), 0) {
		return errors.New("section name contains NUL")
	}

	noteOff := alignUp(keep, 4)
	namesOff := noteOff + uint64(len(nb))
	shAlign := uint64(4)
	if f.is64 {
		shAlign = 8
	}
	newShoff := alignUp(namesOff+uint64(len(newNames)), shAlign)

	// New section header table.
	var tab bytes.Buffer
	if shnum == 0 {
		tab.Write(make([]byte, shentsize)) // the null section
	} else {
		tab.Write(shtab)
	}
	put := func(i uint64, s shdr) {
		b := tab.Bytes()
		if i*shentsize >= uint64(len(b)) {
			tab.Write(make([]byte, shentsize))
			b = tab.Bytes()
		}
		h := b[i*shentsize:]
		if f.is64 {
			bo.PutUint32(h[0:], s.name)
			bo.PutUint32(h[4:], uint32(s.typ))
			bo.PutUint64(h[8:], s.flags)
			bo.PutUint64(h[16:], s.addr)
			bo.PutUint64(h[24:], s.off)
			bo.PutUint64(h[32:], s.size)
			bo.PutUint32(h[40:], uint32(s.link))
			bo.PutUint32(h[44:], s.info)
			bo.PutUint64(h[48:], s.align)
		} else {
			bo.PutUint32(h[0:], s.name)
			bo.PutUint32(h[4:], uint32(s.typ))
			bo.PutUint32(h[8:], uint32(s.flags))
			bo.PutUint32(h[12:], uint32(s.addr))
			bo.PutUint32(h[16:], uint32(s.off))
			bo.PutUint32(h[20:], uint32(s.size))
			bo.PutUint32(h[24:], uint32(s.link))
			bo.PutUint32(h[28:], s.info)
			bo.PutUint32(h[32:], uint32(s.align))
		}
	}
	n := max(shnum, 1)
	namesHdr := shdr{name: names.name, typ: elf.SHT_STRTAB, off: namesOff, size: uint64(len(newNames)), align: 1}
	if createNames {
		namesHdr.name = uint32(namesName)
		shstrndx = n
		n++
	} else {
		// Keep the old header's other fields; only the data moves.
		namesHdr = names
		namesHdr.off, namesHdr.size = namesOff, uint64(len(newNames))
	}
	put(shstrndx, namesHdr)
	put(n, shdr{name: uint32(noteName), typ: elf.SHT_NOTE, off: noteOff, size: uint64(len(nb)), align: 4})
	n++
	if !f.is64 && newShoff > 0xffffffff {
		return errors.New("file too large for ELF32 after adding the note")
	}

	// The ELF header with the new section header fields.
	if f.is64 {
		bo.PutUint64(hdr[40:], newShoff)
		bo.PutUint16(hdr[58:], uint16(shentsize))
		bo.PutUint16(hdr[60:], uint16(n))
		bo.PutUint16(hdr[62:], uint16(shstrndx))
	} else {
		bo.PutUint32(hdr[32:], uint32(newShoff))
		bo.PutUint16(hdr[46:], uint16(shentsize))
		bo.PutUint16(hdr[48:], uint16(n))
		bo.PutUint16(hdr[50:], uint16(shstrndx))
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(w, io.NewSectionReader(src, int64(ehsize), int64(keep-ehsize))); err != nil {
		return err
	}
	pad := func(from, to uint64) error {
		_, err := w.Write(make([]byte, to-from))
		return err
	}
	if err := pad(keep, noteOff); err != nil {
		return err
	}
	if _, err := w.Write(nb); err != nil {
		return err
	}
	if _, err := w.Write(newNames); err != nil {
		return err
	}
	if err := pad(namesOff+uint64(len(newNames)), newShoff); err != nil {
		return err
	}
	_, err = w.Write(tab.Bytes())
	return err
}
