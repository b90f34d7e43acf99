package iso9660

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

const (
	mbrCodeLen       = 432  // boot code before the 64-bit boot image address
	grub2BootInfoOff = 2548 // 2048 (cdboot.img) + 500: diskboot.img's block list start
)

// WriteTo lays the image out and writes it to w from start to end, without
// seeking, opening each regular file in turn. With an *os.File as w, file
// contents are copied by the kernel where it can (copy_file_range).
func (im *Image) WriteTo(w io.Writer) (int64, error) {
	l, err := im.layout()
	if err != nil {
		return 0, err
	}
	sw := &sectorWriter{bw: bufio.NewWriterSize(w, 1<<20)}

	sys := make([]byte, 16*SectorSize)
	if im.Boot != nil && im.Boot.Hybrid != NoHybrid {
		l.mbr(sys[:512])
	}
	sw.write(sys)
	sw.write(l.primary())
	if im.Boot != nil {
		sw.write(l.bootRecord())
	}
	sw.write(terminator())
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		sw.write(l.pathTable(order))
		sw.pad()
	}
	for _, d := range l.dirs {
		sw.write(l.directory(d))
	}
	sw.write(l.continuationRegion())
	if im.Boot != nil {
		sw.write(l.catalogSector())
	}
	for _, f := range l.files {
		if sw.err != nil {
			break
		}
		if sw.n != int64(f.lba)*SectorSize {
			return sw.n, fmt.Errorf("iso9660: internal error: %s starts at byte %d, laid out at sector %d", f.path(), sw.n, f.lba)
		}
		if err := l.copyFile(sw, f); err != nil {
			return sw.n, err
		}
		sw.pad()
	}
	sw.zeros(int64(l.total)*SectorSize - sw.n)
	if sw.err == nil {
		sw.err = sw.bw.Flush()
	}
	return sw.n, sw.err
}

// sectorWriter counts what it writes and keeps the first error.
type sectorWriter struct {
	bw  *bufio.Writer
	n   int64
	err error
}

var zeroSector [SectorSize]byte

func (s *sectorWriter) write(b []byte) {
	if s.err != nil {
		return
	}
	n, err := s.bw.Write(b)
	s.n += int64(n)
	s.err = err
}

func (s *sectorWriter) zeros(n int64) {
	for n > 0 && s.err == nil {
		k := min(n, SectorSize)
		s.write(zeroSector[:k])
		n -= k
	}
}

func (s *sectorWriter) pad() {
	if r := s.n % SectorSize; r != 0 {
		s.zeros(SectorSize - r)
	}
}

// copyFile streams one file's contents, checking that the source still has
// the size the layout was made from.
func (l *layout) copyFile(sw *sectorWriter, f *node) error {
	var patches []patch
	if f == l.boot {
		var err error
		if patches, err = l.bootPatches(f); err != nil {
			return err
		}
	}
	rc, err := f.open()
	if err != nil {
		return &Error{Path: f.path(), Err: err}
	}
	closed := false
	defer func() {
		if !closed {
			rc.Close()
		}
	}()
	var src io.Reader = rc
	if patches != nil {
		src = &patchReader{r: rc, patches: patches}
	}
	if sw.err = sw.bw.Flush(); sw.err != nil {
		return sw.err
	}
	// With the buffer empty, bufio hands the copy to w's ReadFrom.
	n, err := sw.bw.ReadFrom(io.LimitReader(src, f.size))
	sw.n += n
	if err != nil {
		return &Error{Path: f.path(), Err: err}
	}
	if n < f.size {
		return errorf(f.path(), ErrSizeChange, "%d bytes read, %d expected", n, f.size)
	}
	var one [1]byte
	if k, _ := io.ReadFull(src, one[:]); k > 0 {
		return errorf(f.path(), ErrSizeChange, "more than the %d bytes expected", f.size)
	}
	closed = true
	if err := rc.Close(); err != nil {
		return &Error{Path: f.path(), Err: err}
	}
	return nil
}

type patch struct {
	off  int64
	data []byte
}

// patchReader replaces the bytes at the patches' offsets as they pass.
type patchReader struct {
	r       io.Reader
	off     int64
	patches []patch
}

func (p *patchReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	for _, pt := range p.patches {
		lo := max(pt.off, p.off)
		hi := min(pt.off+int64(len(pt.data)), p.off+int64(n))
		if lo < hi {
			copy(b[lo-p.off:hi-p.off], pt.data[lo-pt.off:hi-pt.off])
		}
	}
	p.off += int64(n)
	return n, err
}

// bootPatches computes what the writer changes in the boot image: GRUB's
// hybrid block list, then the boot information table, whose checksum
// covers the final bytes from offset 64 on and so needs a first pass.
func (l *layout) bootPatches(f *node) ([]patch, error) {
	b := l.im.Boot
	var patches []patch
	if b.Hybrid == HybridGRUB2 {
		d := make([]byte, 8)
		binary.LittleEndian.PutUint64(d, uint64(f.lba)*4+5)
		patches = append(patches, patch{grub2BootInfoOff, d})
	}
	if !b.InfoTable {
		return patches, nil
	}
	rc, err := f.open()
	if err != nil {
		return nil, &Error{Path: f.path(), Err: err}
	}
	defer rc.Close()
	br := bufio.NewReader(&patchReader{r: rc, patches: patches})
	if _, err := br.Discard(64); err != nil {
		return nil, &Error{Path: f.path(), Err: err}
	}
	var sum uint32
	var word [4]byte
	n := int64(64)
	for {
		k, err := io.ReadFull(br, word[:])
		if k > 0 {
			clear(word[k:])
			sum += binary.LittleEndian.Uint32(word[:])
			n += int64(k)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, &Error{Path: f.path(), Err: err}
		}
	}
	if n != f.size {
		return nil, errorf(f.path(), ErrSizeChange, "%d bytes read, %d expected", n, f.size)
	}
	table := make([]byte, 56)
	binary.LittleEndian.PutUint32(table[0:], 16)
	binary.LittleEndian.PutUint32(table[4:], f.lba)
	binary.LittleEndian.PutUint32(table[8:], uint32(f.size))
	binary.LittleEndian.PutUint32(table[12:], sum)
	return append(patches, patch{8, table}), nil
}

func fill(b []byte, c byte) {
	for i := range b {
		b[i] = c
	}
}

func (l *layout) primary() []byte {
	b := make([]byte, SectorSize)
	b[0] = 1
	copy(b[1:6], "CD001")
	b[6] = 1
	fill(b[8:72], ' ')
	vid := l.im.VolumeID
	if vid == "" {
		vid = "CDROM"
	}
	copy(b[40:72], vid)
	both32(b[80:], l.total)
	both16(b[120:], 1)
	both16(b[124:], 1)
	both16(b[128:], SectorSize)
	both32(b[132:], l.ptSize)
	binary.LittleEndian.PutUint32(b[140:], l.lpt)
	binary.BigEndian.PutUint32(b[148:], l.mpt)
	root := l.im.rootNode()
	l.encode(b[156:190], &record{n: root, id: []byte{0}, size: 34, flags: 2})
	fill(b[190:813], ' ')
	copy(b[574:702], l.im.Application)
	date := volDate(l.time)
	copy(b[813:], date[:])
	copy(b[830:], date[:])
	copy(b[847:863], "0000000000000000")
	copy(b[864:880], "0000000000000000")
	b[881] = 1
	return b
}

func (l *layout) bootRecord() []byte {
	b := make([]byte, SectorSize)
	copy(b[1:6], "CD001")
	b[6] = 1
	copy(b[7:], "EL TORITO SPECIFICATION")
	binary.LittleEndian.PutUint32(b[71:], l.catalog)
	return b
}

func terminator() []byte {
	b := make([]byte, SectorSize)
	b[0] = 255
	copy(b[1:6], "CD001")
	b[6] = 1
	return b
}

// catalogSector is the El Torito boot catalog: a validation entry for
// 80x86 and one bootable no-emulation entry.
func (l *layout) catalogSector() []byte {
	b := make([]byte, SectorSize)
	b[0] = 1
	b[30], b[31] = 0x55, 0xAA
	var sum uint16
	for i := 0; i < 32; i += 2 {
		sum += binary.LittleEndian.Uint16(b[i:])
	}
	binary.LittleEndian.PutUint16(b[28:], -sum)
	e := b[32:64]
	e[0] = 0x88
	load := l.im.Boot.LoadSectors
	if load == 0 {
		load = 4
	}
	binary.LittleEndian.PutUint16(e[6:], load)
	binary.LittleEndian.PutUint32(e[8:], l.boot.lba)
	return b
}

// mbr fills sector 0 for booting the image as a disk.
func (l *layout) mbr(b []byte) {
	bt := l.im.Boot
	copy(b[:mbrCodeLen], bt.MBR)
	lba := uint64(l.boot.lba) * 4
	var start uint32
	var typ byte
	switch bt.Hybrid {
	case HybridISOLINUX:
		binary.LittleEndian.PutUint64(b[0x1B0:], lba)
		start, typ = 0, 0x17
	case HybridGRUB2:
		binary.LittleEndian.PutUint64(b[0x1B0:], lba+4)
		start, typ = 1, 0xCD
	}
	end := min(uint64(l.total)*4, 0xFFFFFFFF) - 1
	p := b[0x1BE:0x1CE]
	p[0] = 0x80
	copy(p[1:4], chs(uint64(start)))
	p[4] = typ
	copy(p[5:8], chs(end))
	binary.LittleEndian.PutUint32(p[8:], start)
	binary.LittleEndian.PutUint32(p[12:], uint32(end)+1-start)
	b[510], b[511] = 0x55, 0xAA
}

// chs encodes a 512-byte sector number for a geometry of 64 heads and 32
// sectors per track, saturating at cylinder 1023.
func chs(lba uint64) []byte {
	const heads, secs = 64, 32
	c, h, s := lba/(heads*secs), lba/secs%heads, lba%secs+1
	if c > 1023 {
		c, h, s = 1023, heads-1, secs
	}
	return []byte{byte(h), byte(s) | byte(c>>8)<<6, byte(c)}
}
