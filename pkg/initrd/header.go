package initrd

import (
	"io/fs"
)

// File type bits of Header.Mode, as in st_mode.
const (
	ModeType  = 0o170000 // mask for the type bits
	TypeSock  = 0o140000
	TypeLink  = 0o120000 // symbolic link
	TypeReg   = 0o100000
	TypeBlock = 0o060000
	TypeDir   = 0o040000
	TypeChar  = 0o020000
	TypeFifo  = 0o010000
	ModePerm  = 0o7777 // permission, set-id and sticky bits
)

// Limits of the newc format and of the Linux initramfs loader.
const (
	// MaxSize is the largest file the 8 hex digits of c_filesize hold.
	MaxSize = 1<<32 - 1
	// MaxName is the longest name, in bytes, without the terminating
	// NUL: c_namesize may not exceed PATH_MAX (4096) in the kernel's
	// initramfs loader. Symbolic link targets have the same limit.
	MaxName = 4095
)

// A Header describes one entry of a newc archive. The numeric fields are
// the header's fields as written (c_ino, c_mode, ...).
type Header struct {
	Name      string // path inside the archive, without leading "/" by convention
	Mode      uint32 // full st_mode: type bits (ModeType) and permission bits
	UID, GID  int
	Mtime     int64 // seconds since the Unix epoch
	Size      int64 // c_filesize: data bytes; for a symlink, the length of its target
	Inode     uint32
	Links     uint32 // entries sharing Inode with Links > 1 are hard links
	Linkname  string // symlink target (TypeLink only)
	Devmajor  uint32 // device holding the file (c_devmajor)
	Devminor  uint32
	Rdevmajor uint32 // device a TypeChar or TypeBlock node stands for (c_rdevmajor)
	Rdevminor uint32
}

// Type returns the type bits of h.Mode.
func (h *Header) Type() uint32 { return h.Mode & ModeType }

// FileMode returns h.Mode as an fs.FileMode.
func (h *Header) FileMode() fs.FileMode {
	m := fs.FileMode(h.Mode & 0o777)
	if h.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if h.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if h.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	switch h.Type() {
	case TypeDir:
		m |= fs.ModeDir
	case TypeLink:
		m |= fs.ModeSymlink
	case TypeChar:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case TypeBlock:
		m |= fs.ModeDevice
	case TypeFifo:
		m |= fs.ModeNamedPipe
	case TypeSock:
		m |= fs.ModeSocket
	case TypeReg:
	default:
		m |= fs.ModeIrregular
	}
	return m
}

// typeName names a file type for messages.
func typeName(mode uint32) string {
	switch mode & ModeType {
	case TypeReg:
		return "regular file"
	case TypeDir:
		return "directory"
	case TypeLink:
		return "symbolic link"
	case TypeChar:
		return "character device"
	case TypeBlock:
		return "block device"
	case TypeFifo:
		return "named pipe"
	case TypeSock:
		return "socket"
	}
	return "unknown file type"
}
