// Package iso9660 writes ISO 9660 (ECMA-119) file system images with Rock
// Ridge extensions, an optional El Torito BIOS boot entry and an optional
// hybrid MBR, so that one file boots as a CD and as a raw disk.
//
// An [Image] is built in two steps. [Image.Add] (or [Image.AddFS]) records
// what goes where: names, modes, sizes and a function that opens the
// contents. [Image.WriteTo] then lays the image out from the sizes alone and
// streams every file's contents from its source into the output, one file
// open at a time: nothing is staged and memory does not grow with the size of
// the files.
//
// What the writer produces:
//
//   - A primary volume descriptor, an El Torito boot record when the image is
//     bootable, and a terminator; little- and big-endian path tables.
//   - ISO 9660 level 1 names in the base tree (8.3, upper case, d-characters,
//     version ";1"). When two names in one directory map to the same 8.3 name,
//     all but the first in byte order of their real names get a deterministic
//     numbered name (README.TXT, README1.TXT, ...). The real names are in
//     Rock Ridge, so every Rock Ridge reader sees the tree as it was added.
//     Two entries with the same real name are an error.
//   - Rock Ridge (SUSP 1.12, RRIP 1.12 entries announced with the RRIP_1991A
//     identifier that every reader recognises): PX with file serial numbers,
//     NM, SL, TF, SP and ER in the root's "." record, and continuation areas
//     (CE) where a record's system use area does not fit. SL stores a link
//     target component by component, so repeated and trailing slashes in a
//     target are not kept.
//   - El Torito: a boot catalog with one BIOS no-emulation entry; the boot
//     information table at offset 8 of the boot image is filled in when asked.
//   - A hybrid MBR in the system area (boot code supplied by the caller, see
//     [Hybrid]) with one partition entry, so that BIOSes boot the image as a
//     disk too.
//   - At least 150 sectors of zeros after the last file: some readers (GRUB
//     among them) read ahead past the end of the last extent.
//
// Every time stamp in the image is [Image.Time], so the same inputs give the
// same bytes whatever the files' modification times. Owners are recorded as
// uid 0 and gid 0.
//
// Limits, each reported as an [*Error] before any byte is written: a file
// holds at most 4 GiB − 1 bytes (one extent), a name at most 255 bytes, a
// symbolic link target at most 1023 bytes (NetBSD's MAXPATHLEN), an image
// at most 65535 directories (path table numbers are 16 bits). Directory
// depth and ISO path length are not limited to ECMA-119's 8 levels and 255
// bytes, as with xorriso's deep_paths and long_paths: readers do not
// enforce them, and relocating deep directories (RR_MOVED) would show
// readers without Rock Ridge a different tree.
package iso9660

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"
)

// SectorSize is the logical block size of every image this package writes.
const SectorSize = 2048

// MaxFileSize is the largest file one directory record (one extent) can describe.
const MaxFileSize = 1<<32 - 1

// MaxLinkname is the longest symbolic link target an image holds.
const MaxLinkname = 1023

// PadSectors is the number of zero sectors written after the last file.
const PadSectors = 150

// DefaultTime is the time stamp used when [Image.Time] is zero: a fixed
// instant, so that images do not depend on when they were made.
var DefaultTime = time.Date(1980, time.January, 1, 0, 0, 0, 0, time.UTC)

// Errors wrapped in [*Error]; test for them with [errors.Is].
var (
	ErrName       = errors.New("invalid name")
	ErrDuplicate  = errors.New("already in the image")
	ErrNotDir     = errors.New("a parent is not a directory")
	ErrType       = errors.New("unsupported file type")
	ErrTooLarge   = errors.New("file too large for ISO 9660")
	ErrLink       = errors.New("invalid symbolic link target")
	ErrBoot       = errors.New("invalid boot setup")
	ErrLimit      = errors.New("image exceeds an ISO 9660 limit")
	ErrSizeChange = errors.New("file changed size while the image was written")
	ErrVolumeID   = errors.New("invalid volume identifier")
)

// Error reports a problem with one path in the image (Path is empty for the
// image as a whole).
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return "iso9660: " + e.Err.Error()
	}
	return "iso9660: " + e.Path + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(path string, sentinel error, format string, args ...any) error {
	return &Error{Path: path, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

// Entry describes one file, directory or symbolic link to add.
type Entry struct {
	// Name is the slash-separated path inside the image ("boot/grub/grub.cfg"),
	// recorded in Rock Ridge exactly as given. A leading slash is ignored.
	// Missing parent directories are created with mode 0755.
	Name string
	// Mode holds the type (fs.ModeDir, fs.ModeSymlink or none for a regular
	// file) and the permission bits, including setuid, setgid and sticky.
	Mode fs.FileMode
	// Size is the exact length of a regular file's contents.
	Size int64
	// Linkname is a symbolic link's target.
	Linkname string
	// Open returns a regular file's contents. It is called once, while the
	// image is written, and the result is closed before the next file opens.
	// It must yield exactly Size bytes.
	Open func() (io.ReadCloser, error)
}

// Hybrid selects the convention of the hybrid MBR that makes a bootable image
// boot as a disk as well. The boot code comes from the caller ([Boot.MBR]);
// the convention decides what the writer fills in around it.
type Hybrid int

const (
	// NoHybrid leaves the system area empty.
	NoHybrid Hybrid = iota
	// HybridISOLINUX follows isohybrid: 64-bit little-endian LBA of the boot
	// image in 512-byte sectors at MBR offset 0x1B0, one active partition of
	// type 0x17 starting at sector 0. For isohdpfx.bin and an isolinux.bin
	// with hybrid support.
	HybridISOLINUX
	// HybridGRUB2 follows GRUB's boot_hybrid.img: LBA×4+4 of the boot image at
	// MBR offset 0x1B0 (the diskboot sector behind cdboot.img), LBA×4+5 at
	// offset 2548 of the boot image (the block list of that diskboot sector),
	// one active partition of type 0xCD starting at sector 1. For images made
	// by grub-mkimage -O i386-pc-eltorito.
	HybridGRUB2
)

// Boot describes the El Torito boot entry of a bootable image.
type Boot struct {
	// Image is the Name of a regular file added to the image: the
	// no-emulation boot image the BIOS loads.
	Image string
	// LoadSectors is the number of 512-byte sectors the BIOS loads; 0 means 4
	// (one CD sector, what ISOLINUX and GRUB expect).
	LoadSectors uint16
	// InfoTable fills in the 56-byte boot information table at offset 8 of
	// the boot image: LBA of the primary volume descriptor, LBA of the boot
	// image, its length and the checksum of its 32-bit words from offset 64.
	// The file in the image holds the patched bytes.
	InfoTable bool
	// MBR is the boot code for the system area (at most 432 bytes), used
	// when Hybrid is not NoHybrid.
	MBR    []byte
	Hybrid Hybrid
}

// Image is an ISO 9660 image being assembled. The zero value is an empty
// image ready to use.
type Image struct {
	// VolumeID is the volume identifier: at most 32 d-characters (A-Z, 0-9, _).
	// Empty means "CDROM".
	VolumeID string
	// Application is recorded as the application identifier: at most 128
	// a-characters (upper-case letters, digits, space and !"%&'()*+,-./:;<=>?_).
	Application string
	// Time is every time stamp in the image (creation, modification, each
	// file). Zero means DefaultTime. It is recorded in UTC, to the second.
	Time time.Time
	// Boot makes the image bootable; nil writes a data image.
	Boot *Boot

	root *node
}
