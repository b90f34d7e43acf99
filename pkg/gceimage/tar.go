package gceimage

import (
	"fmt"
	"strconv"
)

// Sizes of the tar format: headers are blocks, and GNU tar writes records
// of 20 blocks.
const (
	blockSize  = 512
	recordSize = 20 * blockSize
)

// Offsets in an oldgnu header (GNU tar's struct posix_header and struct
// oldgnu_header, which share the first 345 bytes).
const (
	offName       = 0   // [100]
	offMode       = 100 // [8]
	offUID        = 108 // [8]
	offGID        = 116 // [8]
	offSize       = 124 // [12] bytes stored in the archive
	offMtime      = 136 // [12]
	offChksum     = 148 // [8]
	offTypeflag   = 156
	offMagic      = 257 // [8] "ustar  \0": magic and version of the old GNU format
	offUname      = 265 // [32]
	offGname      = 297 // [32]
	offSparse     = 386 // 4 entries of offset[12], numbytes[12]
	offIsExtended = 482
	offRealSize   = 483 // [12] the file's length

	headerSparse = 4  // map entries in the header
	extSparse    = 21 // map entries in each extension block
	offExtIsExt  = 504
	typeSparse   = 'S'
	sparseEntry  = 24
)

// sparseHeaders returns the header block of a sparse file and the
// extension blocks its map needs.
func sparseHeaders(name string, mode, mtime, size, stored int64, m []Region) ([]byte, error) {
	if len(name) > 99 {
		return nil, fmt.Errorf("tar: name %q too long for a header", name)
	}
	nblocks := 1
	if len(m) > headerSparse {
		nblocks += (len(m) - headerSparse + extSparse - 1) / extSparse
	}
	out := make([]byte, nblocks*blockSize)
	h := out[:blockSize]
	copy(h[offName:], name)
	fields := []struct {
		off, len int
		v        int64
	}{
		{offMode, 8, mode}, {offUID, 8, 0}, {offGID, 8, 0},
		{offSize, 12, stored}, {offMtime, 12, mtime}, {offRealSize, 12, size},
	}
	for _, f := range fields {
		if err := putNumber(h[f.off:f.off+f.len], f.v); err != nil {
			return nil, err
		}
	}
	h[offTypeflag] = typeSparse
	copy(h[offMagic:], "ustar  \x00")
	copy(h[offUname:], "root")
	copy(h[offGname:], "root")

	// The map: four entries in the header, 21 in each extension block;
	// a block that is followed by another says so in its isextended byte.
	slot := func(i int) []byte {
		if i < headerSparse {
			return h[offSparse+i*sparseEntry:]
		}
		j := i - headerSparse
		b := out[(1+j/extSparse)*blockSize:]
		return b[(j%extSparse)*sparseEntry:]
	}
	for i, r := range m {
		e := slot(i)
		if err := putNumber(e[:12], r.Offset); err != nil {
			return nil, err
		}
		if err := putNumber(e[12:24], r.Length); err != nil {
			return nil, err
		}
	}
	if nblocks > 1 {
		h[offIsExtended] = 1
		for b := 1; b < nblocks-1; b++ {
			out[b*blockSize+offExtIsExt] = 1
		}
	}

	// The checksum counts its own field as spaces; GNU tar writes six
	// octal digits, a NUL and the space that stays.
	copy(h[offChksum:offChksum+8], "        ")
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	copy(h[offChksum:], fmt.Sprintf("%06o\x00", sum))
	return out, nil
}

// putNumber writes v into a numeric field as GNU tar does: octal digits
// and a NUL when they fit, otherwise base-256 (the first byte's high bit
// set, then the value big-endian), GNU's extension for large sizes and
// offsets.
func putNumber(b []byte, v int64) error {
	if v < 0 {
		return fmt.Errorf("tar: negative number %d", v)
	}
	s := strconv.FormatInt(v, 8)
	if len(s) < len(b) {
		for i := range b[:len(b)-1-len(s)] {
			b[i] = '0'
		}
		copy(b[len(b)-1-len(s):], s)
		b[len(b)-1] = 0
		return nil
	}
	for i := range b {
		b[i] = 0
	}
	for i := len(b) - 1; i > 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	if v != 0 {
		return fmt.Errorf("tar: number too large for a %d-byte field", len(b))
	}
	b[0] = 0x80
	return nil
}
