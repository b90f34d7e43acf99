package initrd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrWriteTooLong is returned when more data is written to an entry than
// its header's Size.
var ErrWriteTooLong = errors.New("initrd: write too long")

// A Writer writes a newc (070701) archive. Headers are checked against
// what the format and the Linux initramfs loader accept, so that a bad
// value is an error rather than a silently wrong archive.
//
// The project's design names github.com/cavaliergopher/cpio for writing;
// this small writer replaces it because that library writes no device
// numbers (rdev), which the device nodes of a gen_init_cpio spec need,
// formats every field with fmt.Sprintf, silently truncates sizes and
// times that do not fit 32 bits, and passes file data only through its
// Write method, which rules out the kernel's copy_file_range for file
// data (see ReadFrom). The tests read every archive back with
// cavaliergopher/cpio as a second implementation.
type Writer struct {
	bw     *bufio.Writer
	n      int    // entries written
	name   string // current entry
	remain int64  // data bytes the current entry still needs
	pad    int64  // padding after the current entry's data
	closed bool
	err    error
}

// NewWriter returns a Writer that writes to w through a 64 KiB buffer.
// Close writes the trailer and flushes; it does not close w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 64<<10)}
}

// WriteHeader finishes the current entry and writes h. For a regular file
// h.Size data bytes must follow (Write or ReadFrom). A symlink's target,
// h.Linkname, is written here as its data; h.Size may be 0 or its length.
// Links 0 is written as 1 (2 for a directory). Other types have no data.
func (w *Writer) WriteHeader(h *Header) error {
	if err := w.finish(); err != nil {
		return err
	}
	size, err := w.check(h)
	if err != nil {
		return err
	}
	w.n++
	w.name = h.Name
	links := h.Links
	if links == 0 {
		links = 1
		if h.Mode&ModeType == TypeDir {
			links = 2
		}
	}
	w.writeHeader(&[13]uint32{h.Inode, h.Mode, uint32(h.UID), uint32(h.GID), links, uint32(h.Mtime), uint32(size),
		h.Devmajor, h.Devminor, h.Rdevmajor, h.Rdevminor, uint32(len(h.Name) + 1), 0}, h.Name)
	w.remain, w.pad = size, pad4(size)
	if h.Mode&ModeType == TypeLink {
		_, w.err = w.bw.WriteString(h.Linkname)
		w.remain = 0
	}
	return w.err
}

// check validates h and returns the size to write.
func (w *Writer) check(h *Header) (int64, error) {
	bad := func(format string, args ...any) (int64, error) {
		return 0, fmt.Errorf("initrd: entry %d (%s): "+format, append([]any{w.n + 1, h.Name}, args...)...)
	}
	switch {
	case h.Name == "":
		return bad("empty name")
	case len(h.Name) > MaxName:
		return bad("name of %d bytes exceeds %d", len(h.Name), MaxName)
	case strings.IndexByte(h.Name, 0) >= 0:
		return bad("name contains a NUL byte")
	case h.Name == trailer:
		return bad("name is the archive trailer")
	}
	if _, err := EntryPath(h.Name); err != nil {
		return 0, &NameError{Entry: w.n + 1, Name: h.Name, Err: err}
	}
	switch {
	case h.Mtime < 0 || h.Mtime > 1<<32-1:
		return bad("mtime %d does not fit newc's unsigned 32 bits", h.Mtime)
	case h.UID < 0 || int64(h.UID) > 1<<32-1:
		return bad("uid %d does not fit newc's unsigned 32 bits", h.UID)
	case h.GID < 0 || int64(h.GID) > 1<<32-1:
		return bad("gid %d does not fit newc's unsigned 32 bits", h.GID)
	case h.Mode&^(ModeType|ModePerm) != 0:
		return bad("mode %o has bits outside st_mode", h.Mode)
	}
	switch h.Mode & ModeType {
	case TypeReg:
		if h.Size < 0 || h.Size > MaxSize {
			return bad("size %d exceeds newc's limit of %d bytes (4 GiB - 1)", h.Size, int64(MaxSize))
		}
		return h.Size, nil
	case TypeLink:
		n := int64(len(h.Linkname))
		if n == 0 || n > MaxName {
			return bad("symbolic link target of %d bytes (must be 1 to %d)", n, MaxName)
		}
		if h.Size != 0 && h.Size != n {
			return bad("size %d is not the length %d of the link target", h.Size, n)
		}
		return n, nil
	case TypeDir, TypeChar, TypeBlock, TypeFifo, TypeSock:
		if h.Size != 0 {
			return bad("%s with size %d", typeName(h.Mode), h.Size)
		}
		return 0, nil
	}
	return bad("mode %o has no file type", h.Mode)
}

const hexDigits = "0123456789ABCDEF"

func (w *Writer) writeHeader(f *[13]uint32, name string) {
	var buf [headerLen + 4]byte
	copy(buf[:], magicNewc)
	for i, v := range f {
		b := buf[6+8*i : 14+8*i]
		for j := 7; j >= 0; j-- {
			b[j] = hexDigits[v&15]
			v >>= 4
		}
	}
	w.bw.Write(buf[:headerLen])
	w.bw.WriteString(name)
	_, w.err = w.bw.Write(buf[headerLen : headerLen+1+pad4(headerLen+int64(len(name))+1)])
}

// Write writes data of the current entry.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	tooLong := int64(len(p)) > w.remain
	if tooLong {
		p = p[:w.remain]
	}
	n, err := w.bw.Write(p)
	w.remain -= int64(n)
	if err != nil {
		w.err = err
		return n, err
	}
	if tooLong {
		return n, fmt.Errorf("initrd: entry %d (%s): %w", w.n, w.name, ErrWriteTooLong)
	}
	return n, nil
}

// ReadFrom copies data of the current entry from r until r ends or the
// entry is complete; it never reads past the entry's size. When the
// archive goes to a file it lets the kernel copy (copy_file_range), so
// large files do not pass through user space.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.bw.ReadFrom(&io.LimitedReader{R: r, N: w.remain})
	w.remain -= n
	if err != nil {
		w.err = err
	}
	return n, err
}

// finish checks that the current entry is complete and pads it.
func (w *Writer) finish() error {
	if w.closed {
		return errors.New("initrd: write after Close")
	}
	if w.err != nil {
		return w.err
	}
	if w.remain > 0 {
		w.err = fmt.Errorf("initrd: entry %d (%s): %d bytes of data missing", w.n, w.name, w.remain)
		return w.err
	}
	var zero [3]byte
	_, w.err = w.bw.Write(zero[:w.pad])
	w.pad = 0
	return w.err
}

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	w.err = w.bw.Flush()
	return w.err
}

// Close completes the current entry, writes the TRAILER!!! entry and
// flushes. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	if err := w.finish(); err != nil {
		return err
	}
	w.writeHeader(&[13]uint32{4: 1, 11: uint32(len(trailer) + 1)}, trailer)
	w.closed = true
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	return w.err
}
