// Package gceimage packs a boot disk the way Compute Engine imports one: a
// gzip-compressed tar archive holding exactly one file, disk.raw, the raw
// disk, whose size is a whole number of GiB. The archive is in GNU tar's
// oldgnu format with disk.raw as a sparse file (GNU's old sparse format:
// the map of data regions in the header and in extension headers), which
// is what `tar --format=oldgnu -S` writes and what Google's import
// documentation asks for. archive/tar reads such archives but cannot write
// them, so this package writes the headers itself.
//
// The disk is a Source (the hybrid ISO image of pkg/bootloader) followed
// by zeros up to Disk.Size. Every run of BlockSize-byte blocks that are all
// zeros is a hole: it takes no room in the archive and no time to
// compress, so a 10 GiB disk holding 5 MiB makes an archive of at most 5 MiB,
// as fast as a 1 GiB one.
//
// The archive is streamed. The map comes before the data in a sparse
// header, so the source is read twice: once to find its holes (Map), once
// to copy its data regions (WriteTo); nothing else is kept, and memory
// depends neither on the disk's size nor on the source's (only the map
// grows, by 16 bytes for each data region). A source that reads
// differently the second time is an error. The owner (root, 0:0), the mode
// (0644) and the one time stamp are fixed, so the same inputs give the same
// bytes.
package gceimage

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Name is the one file of the archive, the name Compute Engine requires.
const Name = "disk.raw"

// GiB is the unit of Compute Engine disk and image sizes.
const GiB = 1 << 30

// BlockSize is the granularity of holes: a block of zeros this large, at
// an offset that is a multiple of it, is not stored.
const BlockSize = 4096

// Mode is disk.raw's permission bits in the archive.
const Mode = 0o644

// Source is the disk's contents before the zeros that pad it: Size bytes
// that WriteTo writes, the same each time. *iso9660.Image is one.
type Source interface {
	Size() (int64, error)
	WriteTo(w io.Writer) (int64, error)
}

// Disk is disk.raw: Source, then zeros up to Size.
type Disk struct {
	Source Source
	Size   int64     // bytes: a positive multiple of GiB, at least the source's size
	Time   time.Time // disk.raw's modification time in the archive

	srcSize int64
	regions []Region // nil until Map
}

// Region is a stretch of the disk that is stored: data, as opposed to a
// hole.
type Region struct {
	Offset, Length int64
}

// SizeFor returns the smallest disk size Compute Engine accepts for n
// bytes of contents: n rounded up to whole GiB, at least 1 GiB.
func SizeFor(n int64) int64 {
	if n <= GiB {
		return GiB
	}
	return (n + GiB - 1) / GiB * GiB
}

// ErrChanged is returned when the source reads differently the second time.
var ErrChanged = errors.New("the disk's contents changed while the archive was written")

// Map reads the source once and returns the disk's data regions, in order,
// each a whole number of blocks (the last may end with the source). The
// result is kept: later calls and WriteTo use it.
func (d *Disk) Map() ([]Region, error) {
	if d.regions != nil {
		return d.regions, nil
	}
	n, err := d.Source.Size()
	if err != nil {
		return nil, err
	}
	switch {
	case d.Size <= 0 || d.Size%GiB != 0:
		return nil, fmt.Errorf("disk size %d: Compute Engine wants a whole number of GiB", d.Size)
	case n > d.Size:
		return nil, fmt.Errorf("the disk's contents (%d bytes) do not fit its size (%d GiB)", n, d.Size/GiB)
	}
	s := &scanner{}
	bw := bufio.NewWriterSize(s, 64<<10)
	w, err := d.Source.WriteTo(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return nil, err
	}
	if w != n || s.off != n {
		return nil, fmt.Errorf("the disk's contents are %d bytes, not the %d announced", s.off, n)
	}
	s.end()
	d.srcSize, d.regions = n, s.regions
	if d.regions == nil {
		d.regions = []Region{}
	}
	return d.regions, nil
}

// DataSize returns the number of bytes stored: the sum of the regions'
// lengths.
func (d *Disk) DataSize() (int64, error) {
	rs, err := d.Map()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, r := range rs {
		n += r.Length
	}
	return n, nil
}

// WriteTo writes the gzip-compressed archive to w. It reads the source
// (again, after Map).
func (d *Disk) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	zw, err := gzip.NewWriterLevel(cw, gzip.DefaultCompression)
	if err != nil {
		return 0, err
	}
	// The gzip header names no file and no time (0 is "none"), so it
	// depends on nothing but the data.
	zw.ModTime = time.Unix(0, 0)
	if err := d.WriteTar(zw); err != nil {
		return cw.n, err
	}
	err = zw.Close()
	return cw.n, err
}

// WriteTar writes the archive to w uncompressed.
func (d *Disk) WriteTar(w io.Writer) error {
	rs, err := d.Map()
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var stored int64
	for _, r := range rs {
		stored += r.Length
	}
	var mtime int64 // the zero Time is 1970
	if !d.Time.IsZero() {
		mtime = d.Time.Unix()
	}
	hdrs, err := sparseHeaders(Name, Mode, mtime, d.Size, stored, entries(rs, d.Size))
	if err != nil {
		return err
	}
	if _, err := bw.Write(hdrs); err != nil {
		return err
	}
	c := &copier{out: bw, regions: rs}
	n, err := d.Source.WriteTo(c)
	if err != nil {
		if errors.Is(err, ErrChanged) {
			return err
		}
		return fmt.Errorf("reading the disk's contents: %w", err)
	}
	if n != d.srcSize || c.off != d.srcSize || c.written != stored {
		return ErrChanged
	}
	// The data is padded to a whole block, then the archive ends with two
	// zero blocks and is padded to a whole record, as GNU tar writes it.
	total := int64(len(hdrs)) + pad(stored, blockSize) + 2*blockSize
	if _, err := bw.Write(make([]byte, pad(stored, blockSize)-stored+2*blockSize+pad(total, recordSize)-total)); err != nil {
		return err
	}
	return bw.Flush()
}

// entries is the sparse map as written: the data regions and, when the
// disk ends with a hole, an empty region at its end, which is how GNU tar
// learns the file's full length when it extracts it.
func entries(rs []Region, size int64) []Region {
	out := append([]Region(nil), rs...)
	if len(rs) == 0 || rs[len(rs)-1].Offset+rs[len(rs)-1].Length < size {
		out = append(out, Region{Offset: size})
	}
	return out
}

func pad(n, to int64) int64 { return (n + to - 1) / to * to }

// scanner finds the blocks that are not all zeros in what is written to it.
type scanner struct {
	off     int64
	dirty   bool // the current block has a byte that is not zero
	regions []Region
}

var zeroBlock [BlockSize]byte

func (s *scanner) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		in := int(s.off % BlockSize)
		k := min(len(p), BlockSize-in)
		if !s.dirty && !bytes.Equal(p[:k], zeroBlock[:k]) {
			s.dirty = true
		}
		s.off += int64(k)
		p = p[k:]
		if s.off%BlockSize == 0 {
			s.block(s.off - BlockSize)
		}
	}
	return n, nil
}

// block records the block at start if it holds data.
func (s *scanner) block(start int64) {
	if !s.dirty {
		return
	}
	s.dirty = false
	if k := len(s.regions); k > 0 && s.regions[k-1].Offset+s.regions[k-1].Length == start {
		s.regions[k-1].Length = s.off - s.regions[k-1].Offset
		return
	}
	s.regions = append(s.regions, Region{Offset: start, Length: s.off - start})
}

// end records the last, partial block.
func (s *scanner) end() {
	if s.off%BlockSize != 0 {
		s.block(s.off - s.off%BlockSize)
	}
}

// copier passes on the bytes of the data regions and checks that the rest
// is zeros.
type copier struct {
	out     io.Writer
	regions []Region
	i       int // the first region that does not end before off
	off     int64
	written int64
}

func (c *copier) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		for c.i < len(c.regions) && c.regions[c.i].Offset+c.regions[c.i].Length <= c.off {
			c.i++
		}
		var k int
		if c.i < len(c.regions) && c.off >= c.regions[c.i].Offset {
			r := c.regions[c.i]
			k = int(min(int64(len(p)), r.Offset+r.Length-c.off))
			if _, err := c.out.Write(p[:k]); err != nil {
				return n - len(p), err
			}
			c.written += int64(k)
		} else {
			k = len(p)
			if c.i < len(c.regions) {
				k = int(min(int64(k), c.regions[c.i].Offset-c.off))
			}
			for q := p[:k]; len(q) > 0; {
				m := min(len(q), BlockSize)
				if !bytes.Equal(q[:m], zeroBlock[:m]) {
					return n - len(p), ErrChanged
				}
				q = q[m:]
			}
		}
		c.off += int64(k)
		p = p[k:]
	}
	return n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
