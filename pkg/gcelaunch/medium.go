package gcelaunch

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"sort"
	"time"

	"github.com/rumptools/rumptools/pkg/bootloader"
	"github.com/rumptools/rumptools/pkg/gceimage"
	"github.com/rumptools/rumptools/pkg/iso9660"
	"github.com/rumptools/rumptools/pkg/launch"
)

// Medium is an instance's boot disk: the hybrid ISO image that rump-mkiso
// makes (GRUB, the kernel, and the config or initrd as the first multiboot
// module), which SeaBIOS boots through its MBR, padded with zeros to a
// whole number of GiB.
type Medium struct {
	ISO     *iso9660.Image
	ISOSize int64
	Disk    *gceimage.Disk
	Initrd  string // what /boot/initrd holds, for people; "" for none
}

// NewMedium lays out the boot disk of a plan from launch.New with Target;
// nothing is read beyond sizes and the boot loader's files until the disk
// is written.
func NewMedium(p *launch.Plan, t time.Time, host bootloader.Host) (*Medium, error) {
	im, err := bootloader.Build(bootloader.Options{Plan: p, Loader: bootloader.GRUB, Host: host, Time: t})
	if err != nil {
		return nil, err
	}
	n, err := im.Size()
	if err != nil {
		return nil, err
	}
	return &Medium{ISO: im, ISOSize: n, Disk: &gceimage.Disk{Source: im, Size: gceimage.SizeFor(n), Time: t},
		Initrd: bootloader.InitrdContents(p)}, nil
}

// Layout describes the disk for people, a line each: its size, what boots
// it, and the files on it with their sizes.
func (m *Medium) Layout() []string {
	lines := []string{fmt.Sprintf("%s: a raw disk of %d GiB, booted by SeaBIOS through its MBR and GRUB:", gceimage.Name, m.Disk.Size/gceimage.GiB),
		fmt.Sprintf("  a hybrid ISO 9660 image of %d bytes, then zeros (holes in the archive), holding", m.ISOSize)}
	type file struct {
		path string
		size int64
	}
	var files []file
	w := 0
	for _, e := range m.ISO.Entries() {
		if e.Mode&fs.ModeType != 0 {
			continue
		}
		name := e.Name
		if len(name) == 0 || name[0] != '/' {
			name = "/" + name
		}
		files = append(files, file{name, e.Size})
		w = max(w, len(name))
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	for _, f := range files {
		l := fmt.Sprintf("    %-*s %10d bytes", w, f.path, f.size)
		if f.path == bootloader.InitrdPath && m.Initrd != "" {
			l += "  (" + m.Initrd + ")"
		}
		lines = append(lines, l)
	}
	return lines
}

// Archive is what is known of the archive before it is uploaded: its
// size and digests, which name it and which Cloud Storage checks.
type Archive struct {
	Size   int64
	SHA256 [32]byte
	MD5    [16]byte
	CRC32C uint32
	Data   int64 // bytes of disk.raw stored (not holes)
}

// ID is the archive's short name: the first 12 hex digits of its SHA-256.
func (a Archive) ID() string { return hex.EncodeToString(a.SHA256[:6]) }

// Summarize writes the archive once to learn its size and digests.
func (m *Medium) Summarize() (Archive, error) {
	s, m5, c := sha256.New(), md5.New(), crc32.New(crc32.MakeTable(crc32.Castagnoli))
	n, err := m.Disk.WriteTo(io.MultiWriter(s, m5, c))
	if err != nil {
		return Archive{}, err
	}
	a := Archive{Size: n, CRC32C: c.Sum32()}
	s.Sum(a.SHA256[:0])
	m5.Sum(a.MD5[:0])
	if a.Data, err = m.Disk.DataSize(); err != nil {
		return Archive{}, err
	}
	return a, nil
}

// Open returns the archive as a stream, written as it is read; close it
// to stop the writer early.
func (m *Medium) Open() io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		_, err := m.Disk.WriteTo(pw)
		pw.CloseWithError(err)
	}()
	return pr
}
