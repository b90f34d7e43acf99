package initrd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
)

const (
	headerLen = 110
	trailer   = "TRAILER!!!"
)

var (
	magicNewc = []byte("070701")
	magicCRC  = []byte("070702")
)

// A Reader reads a newc archive entry by entry. It never holds more than
// one header, one name and a small buffer in memory, whatever the archive
// claims.
type Reader struct {
	br     *bufio.Reader
	off    int64 // bytes consumed from the (decompressed) archive
	n      int   // entries returned so far
	hdr    *Header
	remain int64 // unread data bytes of the current entry
	pad    int   // padding after the current entry's data
	crc    bool  // current entry is 070702: check the sum of its data
	want   uint32
	sum    uint32
	err    error // sticky
	// raw is the input; br is raw, or while gzipped the decompressed
	// data of the gzip member being read.
	raw     *bufio.Reader
	gzipped bool
	name    [MaxName + 1]byte
}

// NewReader returns a Reader for the archive in r, plain or gzip-compressed
// (recognised by its magic number). Like the Linux kernel and rumptools'
// kernel side, it reads several archives one after another, each plain or
// gzip, with zeros between them.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(6)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("initrd: %w", err)
	}
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		r := &Reader{raw: br}
		if err := r.startGzip(); err != nil {
			return nil, fmt.Errorf("initrd: gzip: %w", err)
		}
		if magic, err = r.br.Peek(6); err != nil && err != io.EOF {
			return nil, fmt.Errorf("initrd: gzip: %w", err)
		}
		if !isCpio(magic) {
			return nil, errors.New("initrd: gzip data that is not a newc cpio archive")
		}
		return r, nil
	} else if what := compression(magic); what != "" {
		return nil, fmt.Errorf("initrd: archive is %s-compressed; only gzip is supported", what)
	}
	if !isCpio(magic) {
		return nil, ErrNotArchive
	}
	return &Reader{raw: br, br: br}, nil
}

// startGzip reads on from the gzip member that starts in the input. Each
// member is read by itself, so that what follows it may be plain.
func (r *Reader) startGzip() error {
	zr, err := gzip.NewReader(r.raw)
	if err != nil {
		return err
	}
	zr.Multistream(false)
	r.br = bufio.NewReaderSize(gzipSource{zr}, 64<<10)
	r.gzipped = true
	return nil
}

// ErrNotArchive is returned by NewReader for input that is neither a cpio
// archive nor compressed (a config file given as an initrd, say).
var ErrNotArchive = errors.New("initrd: not a newc cpio archive (plain or gzip)")

// isCpio recognises the magic numbers of cpio's ASCII formats (odc is
// named as such by the first header).
func isCpio(m []byte) bool {
	return bytes.Equal(m, magicNewc) || bytes.Equal(m, magicCRC) || bytes.Equal(m, []byte("070707"))
}

// gzipSource reports a gzip stream that ends early as such: through the
// cpio reader it would otherwise be only a truncated header or name.
type gzipSource struct{ r io.Reader }

func (g gzipSource) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err == io.ErrUnexpectedEOF {
		err = errGzipCut
	}
	return n, err
}

var errGzipCut = errors.New("the gzip data is cut short")

// compression names the compressors the Linux kernel also accepts for
// initramfs, so that the error says what the input is.
func compression(m []byte) string {
	switch {
	case bytes.HasPrefix(m, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return "xz"
	case bytes.HasPrefix(m, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "zstd"
	case bytes.HasPrefix(m, []byte("BZh")):
		return "bzip2"
	case bytes.HasPrefix(m, []byte{0x02, 0x21, 0x4c, 0x18}), bytes.HasPrefix(m, []byte{0x04, 0x22, 0x4d, 0x18}):
		return "lz4"
	case bytes.HasPrefix(m, []byte{0x89, 'L', 'Z', 'O'}):
		return "lzo"
	case bytes.HasPrefix(m, []byte{0x5d, 0, 0}):
		return "lzma"
	}
	return ""
}

// Next advances to the next entry, skipping what is left of the current
// one, and returns its header. It returns io.EOF after the last archive's
// TRAILER!!! entry: archives concatenated behind one another, with zero
// padding between them and a gzip-compressed one possibly following a plain
// one, are read as one, as Linux and initrd/1 kernels read them (a later
// entry of the same name wins there). Errors name the entry (counting from 1) and the offset in the
// uncompressed archive.
func (r *Reader) Next() (*Header, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.hdr != nil {
		if err := r.skip(); err != nil {
			return nil, err
		}
	}
	r.hdr = nil
	h, err := r.readHeader()
	if err != nil {
		r.err = err
		return nil, err
	}
	r.hdr = h
	return h, nil
}

// Read reads the current entry's data. It returns io.EOF at the end of
// the data. A symlink's target is in Header.Linkname, not here.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.hdr == nil {
		return 0, errors.New("initrd: Read before Next")
	}
	if r.remain == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.remain {
		p = p[:r.remain]
	}
	n, err := r.br.Read(p)
	r.off += int64(n)
	r.remain -= int64(n)
	if r.crc {
		for _, b := range p[:n] {
			r.sum += uint32(b)
		}
	}
	if r.remain > 0 {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			r.err = r.errorf("truncated data at offset %d (%d of %d bytes): %w", r.off, r.hdr.Size-r.remain, r.hdr.Size, err)
			return n, r.err
		}
		return n, nil
	}
	if r.crc && r.sum != r.want {
		r.err = r.errorf("checksum mismatch: header says %08x, data sums to %08x", r.want, r.sum)
		return n, r.err
	}
	return n, nil
}

// skip reads what is left of the current entry, checking it as Read does.
func (r *Reader) skip() error {
	var buf [32 << 10]byte
	for r.remain > 0 {
		if _, err := r.Read(buf[:]); err != nil {
			return err
		}
	}
	if err := r.discard(r.pad, "data padding"); err != nil {
		r.err = err
		return err
	}
	r.pad = 0
	return nil
}

func (r *Reader) discard(n int, what string) error {
	if n == 0 {
		return nil
	}
	m, err := r.br.Discard(n)
	r.off += int64(m)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return r.errorf("truncated %s at offset %d: %w", what, r.off, err)
	}
	return nil
}

// errorf prefixes an error with the current entry.
func (r *Reader) errorf(format string, args ...any) error {
	if r.hdr != nil {
		return fmt.Errorf("initrd: entry %d (%s): "+format, append([]any{r.n, r.hdr.Name}, args...)...)
	}
	return fmt.Errorf("initrd: entry %d: "+format, append([]any{r.n}, args...)...)
}

var fieldNames = [...]string{"c_ino", "c_mode", "c_uid", "c_gid", "c_nlink", "c_mtime", "c_filesize",
	"c_devmajor", "c_devminor", "c_rdevmajor", "c_rdevminor", "c_namesize", "c_check"}

func (r *Reader) readHeader() (*Header, error) {
	start := r.off
	r.n++
	var buf [headerLen]byte
	n, err := io.ReadFull(r.br, buf[:])
	r.off += int64(n)
	if err != nil {
		if n == 0 && err == io.EOF {
			return nil, fmt.Errorf("initrd: archive ends at offset %d without a TRAILER!!! entry", start)
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, r.errorf("truncated header at offset %d: %w", r.off, err)
	}
	crc := bytes.Equal(buf[:6], magicCRC)
	if !crc && !bytes.Equal(buf[:6], magicNewc) {
		if string(buf[:6]) == "070707" {
			return nil, r.errorf("at offset %d: odc (070707) archive; only newc (070701, 070702) is supported", start)
		}
		return nil, r.errorf("at offset %d: bad magic %q; not a newc cpio archive", start, buf[:6])
	}
	var f [13]uint32
	for i := range f {
		v, ok := parseHex(buf[6+8*i : 14+8*i])
		if !ok {
			return nil, r.errorf("at offset %d: field %s is not 8 hex digits: %q", start, fieldNames[i], buf[6+8*i:14+8*i])
		}
		f[i] = v
	}
	h := &Header{
		Inode: f[0], Mode: f[1], UID: int(f[2]), GID: int(f[3]), Links: f[4],
		Mtime: int64(f[5]), Size: int64(f[6]),
		Devmajor: f[7], Devminor: f[8], Rdevmajor: f[9], Rdevminor: f[10],
	}
	namesize := f[11]
	if namesize < 2 {
		return nil, r.errorf("at offset %d: c_namesize %d leaves no room for a name", start, namesize)
	}
	if namesize > MaxName+1 {
		return nil, r.errorf("at offset %d: c_namesize %d exceeds %d", start, namesize, MaxName+1)
	}
	name := r.name[:namesize]
	n, err = io.ReadFull(r.br, name)
	r.off += int64(n)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, r.errorf("truncated name at offset %d: %w", r.off, err)
	}
	if name[namesize-1] != 0 {
		return nil, r.errorf("at offset %d: name is not NUL-terminated", start)
	}
	if i := bytes.IndexByte(name, 0); i < int(namesize)-1 {
		return nil, r.errorf("at offset %d: name %q contains a NUL byte", start, name[:i])
	}
	h.Name = string(name[:namesize-1])
	if h.Name != trailer {
		if _, err := EntryPath(h.Name); err != nil {
			return nil, &NameError{Entry: r.n, Name: h.Name, Err: err}
		}
	}
	if err := r.discard(int(pad4(headerLen+int64(namesize))), "name padding"); err != nil {
		return nil, err
	}
	if h.Name == trailer {
		r.hdr = nil
		more, err := r.nextArchive()
		if err != nil {
			return nil, err
		}
		if !more {
			return nil, io.EOF
		}
		return r.readHeader()
	}
	r.hdr = h
	r.remain = h.Size
	r.pad = int(pad4(h.Size))
	// GNU cpio sums regular files only; the kernel checks nothing.
	r.crc, r.want, r.sum = crc && h.Mode&ModeType == TypeReg, f[12], 0
	if h.Mode&ModeType == TypeLink {
		if h.Size == 0 || h.Size > MaxName {
			return nil, r.errorf("at offset %d: symbolic link target of %d bytes (must be 1 to %d)", start, h.Size, MaxName)
		}
		target := r.name[:h.Size]
		if _, err := io.ReadFull(r, target); err != nil {
			return nil, err
		}
		h.Linkname = string(target)
	}
	return h, nil
}

// nextArchive skips the zeros that pad an archive after its trailer and
// reports whether another archive follows: plain, or a gzip member, which
// is decompressed until it ends.
func (r *Reader) nextArchive() (bool, error) {
	for {
		b, err := r.br.Peek(1)
		if err == io.EOF && r.gzipped {
			// The gzip member ended: the input goes on as it is.
			r.br, r.gzipped = r.raw, false
			continue
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, r.errorf("after the trailer at offset %d: %w", r.off, err)
		}
		if b[0] != 0 {
			break
		}
		// Skip a run of zeros at once: GNU cpio pads to 512 bytes.
		buf, _ := r.br.Peek(r.br.Buffered())
		n := len(buf) - len(bytes.TrimLeft(buf, "\x00"))
		r.br.Discard(n)
		r.off += int64(n)
	}
	magic, _ := r.br.Peek(6)
	switch {
	case bytes.Equal(magic, magicNewc) || bytes.Equal(magic, magicCRC):
		return true, nil
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b && !r.gzipped:
		if err := r.startGzip(); err != nil {
			return false, r.errorf("at offset %d: gzip archive after the trailer: %w", r.off, err)
		}
		return r.nextArchive()
	}
	return false, r.errorf("at offset %d: data after the trailer is not another newc archive (%q)", r.off, magic)
}

func parseHex(b []byte) (uint32, bool) {
	var v uint32
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint32(c)
	}
	return v, true
}

// pad4 is the padding that brings n to a multiple of 4.
func pad4(n int64) int64 { return (4 - n%4) % 4 }
