package kernel

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
)

// Limits that keep hostile input from costing more than the file is worth.
// Real kernels are far below each of them.
const (
	maxNameTable = 1 << 20  // bytes of section names
	maxNoteBytes = 16 << 20 // bytes of note data read, in total
	maxXenGuest  = 64 << 10 // bytes of the __xen_guest string
	maxString    = 4096     // bytes of one toolchain string value
	shdrBatch    = 256      // section headers read per ReadAt
)

type elfFile struct {
	r    io.ReaderAt
	size int64
	bo   binary.ByteOrder
	is64 bool
}

type region struct {
	off, size uint64
	align     uint64
	what      string // "section .note.x", "PT_NOTE segment 2"
}

type shdr struct {
	name                  uint32
	typ                   elf.SectionType
	flags                 uint64
	addr, off, size, link uint64
	info                  uint32
	align                 uint64
}

func clampOff(off uint64) int64 {
	if off > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(off)
}

func formatErr(off uint64, format string, args ...any) error {
	return &FormatError{Off: clampOff(off), Msg: fmt.Sprintf(format, args...)}
}

// read returns n bytes at off, or an error naming what was truncated.
func (f *elfFile) read(off, n uint64, what string) ([]byte, error) {
	if off > uint64(f.size) || n > uint64(f.size)-off {
		return nil, formatErr(off, "truncated %s (%d bytes; file has %d)", what, n, f.size)
	}
	b := make([]byte, n)
	if n == 0 {
		return b, nil
	}
	got, err := f.r.ReadAt(b, int64(off))
	if got == len(b) {
		return b, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return nil, fmt.Errorf("reading %s at offset %d: %w", what, off, err)
}

// fits reports whether count entries of entsize bytes at off lie inside the file.
func (f *elfFile) fits(off, count, entsize uint64) bool {
	if count != 0 && entsize > math.MaxUint64/count {
		return false
	}
	n := count * entsize
	return off <= uint64(f.size) && n <= uint64(f.size)-off
}

// Inspect reads the ELF image of the given size from r. See the package
// documentation for what it reports.
func Inspect(r io.ReaderAt, size int64) (*Kernel, error) { return Options{}.Inspect(r, size) }

// Inspect reads the ELF image of the given size from r, leaving out what o
// says.
func (o Options) Inspect(r io.ReaderAt, size int64) (*Kernel, error) {
	if size < 0 {
		return nil, &FormatError{Off: -1, Msg: "negative file size"}
	}
	f := &elfFile{r: r, size: size}

	// Identification.
	if size < 4 {
		return nil, &FormatError{Off: -1, Msg: ErrNotELF.Error()}
	}
	ident := make([]byte, 16)
	n, err := r.ReadAt(ident[:min(int64(16), size)], 0)
	if n < 4 {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading ELF identification: %w", err)
	}
	if string(ident[:4]) != elf.ELFMAG {
		return nil, &FormatError{Off: -1, Msg: ErrNotELF.Error()}
	}
	if size < 16 {
		return nil, formatErr(0, "truncated ELF identification (%d bytes)", size)
	}
	k := &Kernel{Class: elf.Class(ident[elf.EI_CLASS]), Data: elf.Data(ident[elf.EI_DATA])}
	switch k.Class {
	case elf.ELFCLASS32:
		k.Bits = 32
	case elf.ELFCLASS64:
		k.Bits, f.is64 = 64, true
	default:
		return nil, formatErr(elf.EI_CLASS, "unknown ELF class %d", ident[elf.EI_CLASS])
	}
	switch k.Data {
	case elf.ELFDATA2LSB:
		f.bo = binary.LittleEndian
	case elf.ELFDATA2MSB:
		f.bo = binary.BigEndian
	default:
		return nil, formatErr(elf.EI_DATA, "unknown ELF data encoding %d", ident[elf.EI_DATA])
	}
	if v := ident[elf.EI_VERSION]; v != byte(elf.EV_CURRENT) {
		return nil, formatErr(elf.EI_VERSION, "unknown ELF version %d", v)
	}

	// File header.
	hsize := uint64(52)
	if f.is64 {
		hsize = 64
	}
	h, err := f.read(0, hsize, "ELF header")
	if err != nil {
		return nil, err
	}
	bo := f.bo
	k.Type = elf.Type(bo.Uint16(h[16:]))
	k.Machine = elf.Machine(bo.Uint16(h[18:]))
	var phoff, shoff uint64
	var phentsize, phnum, shentsize, shnum, shstrndx uint64
	if f.is64 {
		k.Entry = bo.Uint64(h[24:])
		phoff, shoff = bo.Uint64(h[32:]), bo.Uint64(h[40:])
		phentsize, phnum = uint64(bo.Uint16(h[54:])), uint64(bo.Uint16(h[56:]))
		shentsize, shnum, shstrndx = uint64(bo.Uint16(h[58:])), uint64(bo.Uint16(h[60:])), uint64(bo.Uint16(h[62:]))
	} else {
		k.Entry = uint64(bo.Uint32(h[24:]))
		phoff, shoff = uint64(bo.Uint32(h[28:])), uint64(bo.Uint32(h[32:]))
		phentsize, phnum = uint64(bo.Uint16(h[42:])), uint64(bo.Uint16(h[44:]))
		shentsize, shnum, shstrndx = uint64(bo.Uint16(h[46:])), uint64(bo.Uint16(h[48:])), uint64(bo.Uint16(h[50:]))
	}

	var regions []region
	var xenGuest []byte
	hasXenGuest := false
	hasSymtab := false

	// Section headers.
	minShent := uint64(40)
	if f.is64 {
		minShent = 64
	}
	if shoff != 0 {
		if shentsize < minShent {
			return nil, formatErr(shoff, "invalid section header size %d (want at least %d)", shentsize, minShent)
		}
		// Section 0 holds the real counts when they do not fit the header.
		if shnum == 0 || shstrndx == uint64(elf.SHN_XINDEX) || phnum == 0xffff {
			s0, err := f.section(shoff, shentsize, 0)
			if err != nil {
				return nil, err
			}
			if shnum == 0 {
				shnum = s0.size
			}
			if shstrndx == uint64(elf.SHN_XINDEX) {
				shstrndx = s0.link
			}
			if phnum == 0xffff {
				phnum = uint64(s0.info)
			}
		}
		if !f.fits(shoff, shnum, shentsize) {
			return nil, formatErr(shoff, "truncated section header table (%d entries of %d bytes; file has %d bytes)", shnum, shentsize, size)
		}
	} else {
		shnum = 0
	}

	var names []byte
	if shnum > 0 && shstrndx != uint64(elf.SHN_UNDEF) {
		if shstrndx >= shnum {
			return nil, formatErr(shoff, "section name table index %d out of range (%d sections)", shstrndx, shnum)
		}
		st, err := f.section(shoff, shentsize, shstrndx)
		if err != nil {
			return nil, err
		}
		if st.typ != elf.SHT_NOBITS {
			if st.size > maxNameTable {
				return nil, formatErr(st.off, "section name table too large (%d bytes)", st.size)
			}
			if names, err = f.read(st.off, st.size, "section name table"); err != nil {
				return nil, err
			}
		}
	}
	sectionName := func(i uint64, off uint32) (string, error) {
		if names == nil {
			return "", nil
		}
		if uint64(off) >= uint64(len(names)) {
			return "", formatErr(shoff+i*shentsize, "section %d: name offset %d out of range (name table has %d bytes)", i, off, len(names))
		}
		s := names[off:]
		if j := bytes.IndexByte(s, 0); j >= 0 {
			s = s[:j]
		}
		return string(s), nil
	}

	for first := uint64(0); first < shnum; first += shdrBatch {
		count := min(shdrBatch, shnum-first)
		tab, err := f.read(shoff+first*shentsize, count*shentsize, "section header table")
		if err != nil {
			return nil, err
		}
		for j := uint64(0); j < count; j++ {
			i := first + j
			s := f.parseSection(tab[j*shentsize:])
			name, err := sectionName(i, s.name)
			if err != nil {
				return nil, err
			}
			switch {
			case s.typ == elf.SHT_SYMTAB:
				hasSymtab = true
			case name == "__xen_guest" && s.typ != elf.SHT_NOBITS:
				if s.size > maxXenGuest {
					return nil, formatErr(s.off, "section __xen_guest too large (%d bytes)", s.size)
				}
				if xenGuest, err = f.read(s.off, s.size, "section __xen_guest"); err != nil {
					return nil, err
				}
				hasXenGuest = true
			}
			if s.typ == elf.SHT_NOTE || (strings.HasPrefix(name, ".note") && s.typ != elf.SHT_NOBITS && s.typ != elf.SHT_NULL) {
				what := fmt.Sprintf("section %d", i)
				if name != "" {
					what = "section " + name
				}
				if !f.fits(s.off, 1, s.size) {
					return nil, formatErr(s.off, "truncated %s (%d bytes; file has %d)", what, s.size, size)
				}
				regions = append(regions, region{off: s.off, size: s.size, align: s.align, what: what})
			}
		}
	}
	k.Stripped = !hasSymtab

	// Program headers.
	if phoff != 0 && phnum > 0 {
		minPhent := uint64(32)
		if f.is64 {
			minPhent = 56
		}
		if phentsize < minPhent {
			return nil, formatErr(phoff, "invalid program header size %d (want at least %d)", phentsize, minPhent)
		}
		if !f.fits(phoff, phnum, phentsize) {
			return nil, formatErr(phoff, "truncated program header table (%d entries of %d bytes; file has %d bytes)", phnum, phentsize, size)
		}
		for first := uint64(0); first < phnum; first += shdrBatch {
			count := min(shdrBatch, phnum-first)
			tab, err := f.read(phoff+first*phentsize, count*phentsize, "program header table")
			if err != nil {
				return nil, err
			}
			for j := uint64(0); j < count; j++ {
				p := tab[j*phentsize:]
				if elf.ProgType(bo.Uint32(p)) != elf.PT_NOTE {
					continue
				}
				var off, filesz, align uint64
				if f.is64 {
					off, filesz, align = bo.Uint64(p[8:]), bo.Uint64(p[32:]), bo.Uint64(p[48:])
				} else {
					off, filesz, align = uint64(bo.Uint32(p[4:])), uint64(bo.Uint32(p[16:])), uint64(bo.Uint32(p[28:]))
				}
				what := fmt.Sprintf("PT_NOTE segment %d", first+j)
				if !f.fits(off, 1, filesz) {
					return nil, formatErr(off, "truncated %s (%d bytes; file has %d)", what, filesz, size)
				}
				regions = append(regions, region{off: off, size: filesz, align: align, what: what})
			}
		}
	}

	// Notes.
	notes, err := f.notes(regions)
	if err != nil {
		return nil, err
	}
	var recipe []byte
	for _, n := range notes {
		switch {
		case n.Owner == NoteOwner && n.Type == NoteProtocol:
			p := string(cstring(n.Desc))
			if p == "" {
				return nil, formatErr(uint64(n.Offset), "empty boot protocol note")
			}
			if !k.Supports(p) {
				k.Protocols = append(k.Protocols, p)
			}
		case n.Owner == NoteOwner && n.Type == NoteBakeRecord:
			if k.Bake != nil {
				continue // the first record counts
			}
			var rec BakeRecord
			if err := json.Unmarshal(bytes.TrimRight(n.Desc, "\x00"), &rec); err != nil {
				return nil, formatErr(uint64(n.Offset), "bake record note: %v", err)
			}
			k.Bake = &rec
		case n.Owner == XenNoteOwner:
			k.XenNotes = append(k.XenNotes, n)
		case n.Owner == RecipeOwner && n.Type == RecipeType && recipe == nil:
			recipe = n.Desc
		}
	}

	// Multiboot header.
	if k.Multiboot, err = f.multiboot(); err != nil {
		return nil, err
	}

	// Toolchain strings: from the recipe note when the note survives,
	// else from the bytes of the file (baked kernels fold it into .text).
	if recipe != nil {
		k.Toolchain, k.RecipeNote = parseRecipe(recipe), true
	} else if !o.NoToolchain {
		if k.Toolchain, err = f.scanToolchain(); err != nil {
			return nil, err
		}
	}

	if hasXenGuest {
		k.XenGuestRaw = string(cstring(xenGuest))
		k.XenGuest = ParseXenGuest(k.XenGuestRaw)
	}
	switch {
	case k.Multiboot != nil:
		k.Platform = PlatformHW
	case hasXenGuest || len(k.XenNotes) > 0:
		k.Platform = PlatformXen
	}
	return k, nil
}

// section reads section header i of the table at shoff.
func (f *elfFile) section(shoff, entsize, i uint64) (shdr, error) {
	if !f.fits(shoff, i+1, entsize) {
		return shdr{}, formatErr(shoff, "truncated section header table (entry %d of %d bytes; file has %d bytes)", i, entsize, f.size)
	}
	b, err := f.read(shoff+i*entsize, entsize, "section header")
	if err != nil {
		return shdr{}, err
	}
	return f.parseSection(b), nil
}

func (f *elfFile) parseSection(b []byte) shdr {
	bo := f.bo
	if f.is64 {
		return shdr{
			name: bo.Uint32(b[0:]), typ: elf.SectionType(bo.Uint32(b[4:])), flags: bo.Uint64(b[8:]),
			addr: bo.Uint64(b[16:]), off: bo.Uint64(b[24:]), size: bo.Uint64(b[32:]),
			link: uint64(bo.Uint32(b[40:])), info: bo.Uint32(b[44:]), align: bo.Uint64(b[48:]),
		}
	}
	return shdr{
		name: bo.Uint32(b[0:]), typ: elf.SectionType(bo.Uint32(b[4:])), flags: uint64(bo.Uint32(b[8:])),
		addr: uint64(bo.Uint32(b[12:])), off: uint64(bo.Uint32(b[16:])), size: uint64(bo.Uint32(b[20:])),
		link: uint64(bo.Uint32(b[24:])), info: bo.Uint32(b[28:]), align: uint64(bo.Uint32(b[32:])),
	}
}

// notes parses the notes of every region, once per file offset.
func (f *elfFile) notes(regions []region) ([]Note, error) {
	var out []Note
	seenRegion := map[[2]uint64]bool{}
	seenNote := map[int64]bool{}
	total := uint64(0)
	// A byte of note data lies in at most a section and a segment: more
	// than that means overlapping regions, which only hostile files have.
	limit := min(maxNoteBytes, 3*uint64(f.size)+4096)
	for _, rg := range regions {
		key := [2]uint64{rg.off, rg.size}
		if seenRegion[key] || rg.size == 0 {
			continue
		}
		seenRegion[key] = true
		total += rg.size
		if total > limit {
			return nil, formatErr(rg.off, "too much note data (more than %d bytes) in %s", limit, rg.what)
		}
		b, err := f.read(rg.off, rg.size, rg.what)
		if err != nil {
			return nil, err
		}
		ns, err := parseNotes(b, rg, f.bo)
		if err != nil {
			return nil, err
		}
		for _, n := range ns {
			if !seenNote[n.Offset] {
				seenNote[n.Offset] = true
				out = append(out, n)
			}
		}
	}
	return out, nil
}

func alignUp(x, a uint64) uint64 {
	if x > math.MaxUint64-(a-1) {
		return math.MaxUint64
	}
	return (x + a - 1) &^ (a - 1)
}

// parseNotes splits a note region into notes. Notes are 4-byte aligned
// unless the region says 8 (as GNU property notes do).
func parseNotes(b []byte, rg region, bo binary.ByteOrder) ([]Note, error) {
	a := uint64(4)
	if rg.align == 8 {
		a = 8
	}
	var out []Note
	n := uint64(len(b))
	for p := uint64(0); p < n; {
		if n-p < 12 {
			if allZero(b[p:]) {
				break // padding
			}
			return nil, formatErr(rg.off+p, "truncated note header in %s", rg.what)
		}
		namesz, descsz := uint64(bo.Uint32(b[p:])), uint64(bo.Uint32(b[p+4:]))
		typ := bo.Uint32(b[p+8:])
		if namesz > n-p-12 {
			return nil, formatErr(rg.off+p, "truncated note name in %s (name size %d)", rg.what, namesz)
		}
		name := b[p+12 : p+12+namesz]
		descOff := alignUp(p+12+namesz, a)
		if descOff > n || descsz > n-descOff {
			return nil, formatErr(rg.off+p, "truncated note description in %s (size %d)", rg.what, descsz)
		}
		out = append(out, Note{
			Owner:  string(cstring(name)),
			Type:   typ,
			Desc:   b[descOff : descOff+descsz : descOff+descsz],
			Offset: int64(rg.off + p),
		})
		p = alignUp(descOff+descsz, a)
	}
	return out, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// cstring returns b up to its first NUL.
func cstring(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// multiboot finds a Multiboot v1 header in the first 8192 bytes.
func (f *elfFile) multiboot() (*MultibootHeader, error) {
	n := min(f.size, MultibootSearchLimit)
	buf, err := f.read(0, uint64(n), "multiboot search area")
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian // Multiboot is x86: always little-endian
	for i := 0; i+12 <= len(buf); i += 4 {
		if le.Uint32(buf[i:]) != MultibootMagic {
			continue
		}
		flags, sum := le.Uint32(buf[i+4:]), le.Uint32(buf[i+8:])
		if MultibootMagic+flags+sum != 0 {
			continue
		}
		h := &MultibootHeader{Offset: int64(i), Flags: flags}
		need := 12
		if flags&MultibootAOutKludge != 0 {
			need = 32
		}
		if flags&MultibootVideoMode != 0 {
			need = 48
		}
		if i+need > len(buf) {
			return nil, formatErr(uint64(i), "truncated multiboot header (flags %#x need %d bytes)", flags, need)
		}
		if flags&MultibootAOutKludge != 0 {
			h.HeaderAddr, h.LoadAddr, h.LoadEndAddr = le.Uint32(buf[i+12:]), le.Uint32(buf[i+16:]), le.Uint32(buf[i+20:])
			h.BSSEndAddr, h.EntryAddr = le.Uint32(buf[i+24:]), le.Uint32(buf[i+28:])
		}
		if flags&MultibootVideoMode != 0 {
			h.ModeType, h.Width, h.Height, h.Depth = le.Uint32(buf[i+32:]), le.Uint32(buf[i+36:]), le.Uint32(buf[i+40:]), le.Uint32(buf[i+44:])
		}
		return h, nil
	}
	return nil, nil
}

var toolchainKeys = []string{"rumprun_tuple:", "rumprun_tooldir:", "rumprun_backingcc:", "rumprun_cflags:"}

func (t *Toolchain) field(key string) *string {
	switch key {
	case "rumprun_tuple:":
		return &t.Tuple
	case "rumprun_tooldir:":
		return &t.ToolDir
	case "rumprun_backingcc:":
		return &t.BackingCC
	case "rumprun_cflags:":
		return &t.CFlags
	}
	return nil
}

// toolValue cuts a toolchain string value: leading blanks skipped, ends at
// NUL or end of line.
func toolValue(b []byte) string {
	b = bytes.TrimLeft(b, " \t")
	if i := bytes.IndexAny(b, "\x00\n\r"); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// parseRecipe reads the strings of a rumprun bake recipe note.
func parseRecipe(desc []byte) Toolchain {
	var t Toolchain
	for _, s := range bytes.FieldsFunc(desc, func(r rune) bool { return r == 0 || r == '\n' }) {
		for _, key := range toolchainKeys {
			if rest, ok := bytes.CutPrefix(bytes.TrimLeft(s, " \t"), []byte(key)); ok {
				if p := t.field(key); *p == "" {
					*p = toolValue(rest)
				}
			}
		}
	}
	return t
}

// scanChunk is how much of the file scanToolchain reads at a time: large
// enough that the read calls cost little next to the copying, small enough
// that the buffer costs few page faults in a short-lived process.
const scanChunk = 64 << 10

// scanToolchain finds, for each toolchain string, its first occurrence in
// the file with a value. It reads the file once, front to back, in chunks,
// so that memory does not grow with the file, and stops once it has all
// four.
func (f *elfFile) scanToolchain() (Toolchain, error) {
	var t Toolchain
	const overlap = 32 // longer than the longest key: a key starting in a chunk is whole in its buffer
	prefix := []byte("rumprun_")
	missing := len(toolchainKeys)
	buf := make([]byte, min(scanChunk+overlap, f.size))
	for base := int64(0); base < f.size && missing > 0; base += scanChunk {
		n := min(int64(len(buf)), f.size-base)
		b := buf[:n]
		if got, err := f.r.ReadAt(b, base); int64(got) != n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return t, fmt.Errorf("reading at offset %d: %w", base, err)
		}
		for i := 0; missing > 0; i += len(prefix) {
			j := bytes.Index(b[i:], prefix)
			if j < 0 || i+j >= scanChunk { // one in the overlap is the next chunk's
				break
			}
			i += j
			for _, key := range toolchainKeys {
				p := t.field(key)
				if *p != "" || !bytes.HasPrefix(b[i:], []byte(key)) {
					continue
				}
				off := base + int64(i) + int64(len(key))
				v := make([]byte, min(maxString, f.size-off))
				if got, err := f.r.ReadAt(v, off); got != len(v) {
					if err == nil || err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					return t, fmt.Errorf("reading %s at offset %d: %w", key, off, err)
				}
				if *p = toolValue(v); *p != "" {
					missing--
				}
			}
		}
	}
	return t, nil
}

// ParseXenGuest splits a __xen_guest string (KEY=VALUE,KEY=VALUE,...) into a
// map. A key without '=' maps to "".
func ParseXenGuest(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		key, val, _ := strings.Cut(kv, "=")
		m[key] = val
	}
	return m
}
