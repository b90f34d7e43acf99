package iso9660

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The directory record length limit is 255; keeping records even (as
// ECMA-119 recorders do) leaves 254.
const maxRecord = 254

// record is one directory record before its extents are known.
type record struct {
	n     *node  // what the record describes
	id    []byte // file identifier
	su    [][]byte
	ce    *ceArea // continuation of the system use area, or nil
	size  int     // bytes in the directory extent
	flags byte
}

// ceArea is one continuation area: system use entries in one sector of the
// continuation region, chained to the next area with a CE entry.
type ceArea struct {
	block, off uint32 // block relative to the continuation region
	sues       [][]byte
	next       *ceArea
	length     uint32
}

// layout is an image with every location known.
type layout struct {
	im      *Image
	time    time.Time
	date    [7]byte
	dirs    []*node // path table order
	files   []*node // regular files with data, in the order they are written
	boot    *node
	records map[*node][]record // per directory

	ceBlock, ceOff uint32 // continuation allocator
	ceAreas        []*ceArea

	lpt, mpt        uint32
	ptSize          uint32
	ceBase, catalog uint32
	total           uint32 // sectors, padding included
}

// Size reports how many bytes WriteTo will write, or the first error that
// would stop it before writing.
func (im *Image) Size() (int64, error) {
	l, err := im.layout()
	if err != nil {
		return 0, err
	}
	return int64(l.total) * SectorSize, nil
}

func (im *Image) layout() (*layout, error) {
	root := im.rootNode()
	l := &layout{im: im, time: im.Time, records: map[*node][]record{}}
	if l.time.IsZero() {
		l.time = DefaultTime
	}
	l.time = l.time.UTC().Truncate(time.Second)
	if y := l.time.Year(); y < 1900 || y > 2155 {
		return nil, &Error{Err: fmt.Errorf("%w: time %s is outside the years 1900 to 2155 a directory record can hold", ErrLimit, l.time.Format(time.RFC3339))}
	}
	l.date = dirDate(l.time)
	if err := checkVolumeID(im.VolumeID); err != nil {
		return nil, err
	}
	if err := checkAChars("application identifier", im.Application, 128); err != nil {
		return nil, err
	}

	// Names and path table order: a breadth-first walk over directories
	// whose children are sorted gives exactly ECMA-119's path table order.
	l.dirs = []*node{root}
	for i := 0; i < len(l.dirs); i++ {
		d := l.dirs[i]
		d.num = i + 1
		if err := assignISONames(d); err != nil {
			return nil, err
		}
		for _, c := range d.children {
			if c.isDir() {
				l.dirs = append(l.dirs, c)
			}
		}
	}
	if len(l.dirs) > 0xFFFF {
		return nil, &Error{Err: fmt.Errorf("%w: %d directories (a path table holds at most 65535)", ErrLimit, len(l.dirs))}
	}

	if err := l.findBoot(); err != nil {
		return nil, err
	}

	// File serial numbers and the order of file data: depth first, sorted.
	var ino uint32
	var walk func(n *node)
	walk = func(n *node) {
		ino++
		n.ino = ino
		if !n.isDir() && !n.isSymlink() && n.size > 0 && n != l.boot {
			l.files = append(l.files, n)
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(root)
	if l.boot != nil && l.boot.size > 0 {
		l.files = slices.Insert(l.files, 0, l.boot)
	}

	// Directory records, their sizes and continuation areas.
	for _, d := range l.dirs {
		l.dirRecords(d)
	}

	// Locations: system area, primary volume descriptor (16), boot record,
	// terminator, path tables, directories, continuation areas, boot
	// catalog, file data, padding.
	next := uint64(18)
	if im.Boot != nil {
		next++
	}
	for _, d := range l.dirs {
		l.ptSize += uint32(8 + len(ptIdentifier(d)) + len(ptIdentifier(d))%2)
	}
	ptSectors := uint64(sectors(int64(l.ptSize)))
	l.lpt = uint32(next)
	next += ptSectors
	l.mpt = uint32(next)
	next += ptSectors
	for _, d := range l.dirs {
		d.lba = uint32(next)
		next += uint64(d.dirBytes / SectorSize)
	}
	l.ceBase = uint32(next)
	if len(l.ceAreas) > 0 {
		next += uint64(l.ceBlock) + 1
	}
	if im.Boot != nil {
		l.catalog = uint32(next)
		next++
	}
	for _, f := range l.files {
		f.lba = uint32(next)
		next += uint64(sectors(f.size))
		if next > 0xFFFFFFFF {
			return nil, &Error{Err: fmt.Errorf("%w: more than 2^32 sectors (8 TiB)", ErrLimit)}
		}
	}
	next += PadSectors
	if im.Boot != nil && im.Boot.Hybrid != NoHybrid {
		// Whole cylinders of 64 heads × 32 sectors (1 MiB), as isohybrid
		// does, for BIOSes that boot USB sticks through CHS geometry.
		next = (next + 511) / 512 * 512
	}
	if next > 0xFFFFFFFF {
		return nil, &Error{Err: fmt.Errorf("%w: more than 2^32 sectors (8 TiB)", ErrLimit)}
	}
	l.total = uint32(next)
	return l, nil
}

func sectors(n int64) int64 { return (n + SectorSize - 1) / SectorSize }

func (l *layout) findBoot() error {
	b := l.im.Boot
	if b == nil {
		return nil
	}
	name := strings.TrimPrefix(b.Image, "/")
	n := l.im.rootNode()
	for _, p := range strings.Split(name, "/") {
		if n.byName == nil || n.byName[p] == nil {
			return errorf(b.Image, ErrBoot, "boot image is not in the image")
		}
		n = n.byName[p]
	}
	if n.isDir() || n.isSymlink() {
		return errorf(b.Image, ErrBoot, "boot image is not a regular file")
	}
	if n.size == 0 {
		return errorf(b.Image, ErrBoot, "boot image is empty")
	}
	if b.InfoTable && n.size < 64 {
		return errorf(b.Image, ErrBoot, "boot image of %d bytes has no room for a boot information table (64 bytes at least)", n.size)
	}
	switch b.Hybrid {
	case NoHybrid:
	case HybridISOLINUX:
	case HybridGRUB2:
		if n.size < grub2BootInfoOff+8 {
			return errorf(b.Image, ErrBoot, "boot image of %d bytes is too small for GRUB's i386-pc-eltorito layout", n.size)
		}
	default:
		return errorf(b.Image, ErrBoot, "unknown hybrid MBR convention %d", b.Hybrid)
	}
	if b.Hybrid != NoHybrid && (len(b.MBR) == 0 || len(b.MBR) > mbrCodeLen) {
		return errorf(b.Image, ErrBoot, "hybrid MBR boot code of %d bytes (want 1 to %d)", len(b.MBR), mbrCodeLen)
	}
	l.boot = n
	return nil
}

// ptIdentifier is a directory's identifier in the path table.
func ptIdentifier(d *node) []byte {
	if d.parent == nil {
		return []byte{0}
	}
	return []byte(d.iso.identifier())
}

// dirRecords builds the records of directory d and sizes its extent.
func (l *layout) dirRecords(d *node) {
	parent := d.parent
	if parent == nil {
		parent = d
	}
	dot := record{n: d, id: []byte{0}, flags: 2}
	dotdot := record{n: parent, id: []byte{1}, flags: 2}
	var dotSU [][]byte
	if d.parent == nil {
		dotSU = append(dotSU, sueSP())
	}
	dotSU = append(dotSU, suePX(d), sueTF(l.date))
	if d.parent == nil {
		dotSU = append(dotSU, sueER())
	}
	recs := []record{dot, dotdot}
	sus := [][][]byte{dotSU, {suePX(parent), sueTF(l.date)}}
	for _, c := range d.children {
		r := record{n: c, id: []byte(c.iso.identifier())}
		if c.isDir() {
			r.flags = 2
		}
		su := append([][]byte{suePX(c), sueTF(l.date)}, sueNM(c.name)...)
		if c.isSymlink() {
			su = append(su, sueSL(c.target)...)
		}
		recs = append(recs, r)
		sus = append(sus, su)
	}

	var off, bytes uint32
	for i := range recs {
		r := &recs[i]
		base := 33 + len(r.id) + (len(r.id)+1)%2
		n, used := fitSUEs(sus[i], maxRecord-base)
		r.su = sus[i][:n]
		if n < len(sus[i]) {
			used += ceLen
			r.ce = l.continuation(sus[i][n:])
		}
		r.size = base + used
		r.size += r.size % 2
		if off+uint32(r.size) > SectorSize {
			bytes += SectorSize
			off = 0
		}
		off += uint32(r.size)
	}
	d.dirBytes = bytes + SectorSize
	l.records[d] = recs
}

// fitSUEs reports how many entries of sues fit in space bytes, keeping room
// for a CE entry when some are left over, and the bytes they take.
func fitSUEs(sues [][]byte, space int) (n, used int) {
	for i, s := range sues {
		reserve := 0
		if i+1 < len(sues) {
			reserve = ceLen
		}
		if used+len(s)+reserve > space {
			return i, used
		}
		used += len(s)
	}
	return len(sues), used
}

// continuation places entries in continuation areas, each within one
// sector (readers reject areas that cross a block), chained with CE.
func (l *layout) continuation(sues [][]byte) *ceArea {
	var first, prev *ceArea
	for len(sues) > 0 {
		n, used := fitSUEs(sues, int(SectorSize-l.ceOff))
		if n == 0 {
			l.ceBlock++
			l.ceOff = 0
			continue
		}
		a := &ceArea{block: l.ceBlock, off: l.ceOff, sues: sues[:n], length: uint32(used)}
		if n < len(sues) {
			a.length += ceLen
		}
		l.ceOff += a.length
		l.ceAreas = append(l.ceAreas, a)
		if prev == nil {
			first = a
		} else {
			prev.next = a
		}
		prev = a
		sues = sues[n:]
	}
	return first
}

// encode writes a record into b (len(b) == r.size).
func (l *layout) encode(b []byte, r *record) {
	b[0] = byte(r.size)
	n := r.n
	var lba, length uint32
	switch {
	case n.isDir():
		lba, length = n.lba, n.dirBytes
	case n.isSymlink():
	default:
		lba, length = n.lba, uint32(n.size)
	}
	both32(b[2:], lba)
	both32(b[10:], length)
	copy(b[18:25], l.date[:])
	b[25] = r.flags
	both16(b[28:], 1)
	b[32] = byte(len(r.id))
	copy(b[33:], r.id)
	p := 33 + len(r.id) + (len(r.id)+1)%2
	for _, s := range r.su {
		p += copy(b[p:], s)
	}
	if r.ce != nil {
		copy(b[p:], l.ceEntry(r.ce))
	}
}

func (l *layout) ceEntry(a *ceArea) []byte {
	return sueCE(l.ceBase+a.block, a.off, a.length)
}

// directory returns the extent of directory d.
func (l *layout) directory(d *node) []byte {
	buf := make([]byte, d.dirBytes)
	var off uint32
	recs := l.records[d]
	for i := range recs {
		r := &recs[i]
		if off%SectorSize+uint32(r.size) > SectorSize {
			off = (off/SectorSize + 1) * SectorSize
		}
		l.encode(buf[off:off+uint32(r.size)], r)
		off += uint32(r.size)
	}
	return buf
}

// continuationRegion returns the sectors holding every continuation area.
func (l *layout) continuationRegion() []byte {
	if len(l.ceAreas) == 0 {
		return nil
	}
	buf := make([]byte, (l.ceBlock+1)*SectorSize)
	for _, a := range l.ceAreas {
		p := a.block*SectorSize + a.off
		for _, s := range a.sues {
			p += uint32(copy(buf[p:], s))
		}
		if a.next != nil {
			copy(buf[p:], l.ceEntry(a.next))
		}
	}
	return buf
}

// pathTable returns the path table in the given byte order.
func (l *layout) pathTable(order binary.ByteOrder) []byte {
	buf := make([]byte, 0, l.ptSize)
	for _, d := range l.dirs {
		id := ptIdentifier(d)
		rec := make([]byte, 8, 8+len(id)+1)
		rec[0] = byte(len(id))
		order.PutUint32(rec[2:], d.lba)
		parent := 1
		if d.parent != nil {
			parent = d.parent.num
		}
		order.PutUint16(rec[6:], uint16(parent))
		rec = append(rec, id...)
		if len(id)%2 == 1 {
			rec = append(rec, 0)
		}
		buf = append(buf, rec...)
	}
	return buf
}
