package launch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Disk image formats DetectFormat recognises, named as QEMU names them.
const (
	FormatRaw   = "raw"
	FormatQcow2 = "qcow2"
	FormatQED   = "qed"
	FormatVMDK  = "vmdk"
	FormatVDI   = "vdi"
	FormatVHDX  = "vhdx"
)

// isoOffset is where an ISO 9660 image has its first volume descriptor
// ("\x01CD001" for the primary one, or another type byte).
const isoOffset = 0x8000

// Image is what DetectFormat found in a disk image.
type Image struct {
	Format string // one of the Format constants
	ISO    bool   // an ISO 9660 file system (raw format): attach it read-only
}

// DetectFormat reads the start of the image at path. Anything it does not
// recognise is raw: a file system image, a partitioned disk or a block device.
func DetectFormat(path string) (Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return Image{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Image{}, err
	}
	if m := fi.Mode(); !m.IsRegular() && m&os.ModeDevice == 0 {
		return Image{}, fmt.Errorf("%s: not a disk image (a regular file or a block device)", path)
	}
	buf := make([]byte, isoOffset+8)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && err != io.EOF {
		return Image{}, err
	}
	return detect(buf[:n]), nil
}

func detect(b []byte) Image {
	has := func(off int, magic string) bool {
		return len(b) >= off+len(magic) && string(b[off:off+len(magic)]) == magic
	}
	switch {
	case has(0, "QFI\xfb"):
		return Image{Format: FormatQcow2}
	case has(0, "QED\x00"):
		return Image{Format: FormatQED}
	case has(0, "KDMV"):
		return Image{Format: FormatVMDK}
	case has(0, "vhdxfile"):
		return Image{Format: FormatVHDX}
	case has(0x40, "\x7f\x10\xda\xbe"): // VDI signature 0xbeda107f, little endian
		return Image{Format: FormatVDI}
	case has(isoOffset+1, "CD001"):
		return Image{Format: FormatRaw, ISO: true}
	}
	return Image{Format: FormatRaw}
}

// DiskSpec is one -b FILE[,MOUNTPOINT] argument.
type DiskSpec struct {
	Path       string
	Mountpoint string // "" when none was given
}

// ParseDiskSpec splits FILE[,MOUNTPOINT]. The part after the last comma is
// a mountpoint only when it is an absolute path and the whole argument does
// not name an existing file, so that file names with commas still work.
func ParseDiskSpec(arg string) (DiskSpec, error) {
	if arg == "" {
		return DiskSpec{}, errors.New("-b: empty disk image name")
	}
	i := strings.LastIndexByte(arg, ',')
	if i < 0 || !strings.HasPrefix(arg[i+1:], "/") {
		return DiskSpec{Path: arg}, nil
	}
	if _, err := os.Stat(arg); err == nil {
		return DiskSpec{Path: arg}, nil
	}
	d := DiskSpec{Path: arg[:i], Mountpoint: arg[i+1:]}
	if d.Path == "" {
		return d, fmt.Errorf("-b %s: no disk image before the mountpoint", arg)
	}
	return d, nil
}
