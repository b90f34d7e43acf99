package ec2image

import (
	"fmt"
	"io/fs"
	"sort"
	"time"

	"github.com/rumptools/rumptools/pkg/bootloader"
	"github.com/rumptools/rumptools/pkg/iso9660"
	"github.com/rumptools/rumptools/pkg/launch"
)

// HW describes the root volume of an HVM image for an hw kernel: the
// hybrid ISO of pkg/bootloader, which the instance's BIOS boots as a disk
// through its MBR. GRUB loads the kernel and hands it the config as a
// multiboot module (or the initrd, for initrd/1 kernels), so the kernel
// needs no disk driver to read it: hw kernels have none that Xen HVM
// offers.
type HW struct {
	Plan *launch.Plan    // from launch.New
	Time time.Time       // every time stamp on the medium
	Host bootloader.Host // where the host's GRUB is; the zero value looks in the usual places
}

// Image returns the medium, laid out but not yet written: Size and
// WriteTo stream it.
func (h *HW) Image() (*iso9660.Image, error) {
	return bootloader.Build(bootloader.Options{Plan: h.Plan, Loader: bootloader.GRUB, Host: h.Host, Time: h.Time})
}

// Files returns the regular files on the medium, sorted by path.
func (h *HW) Files() ([]File, error) {
	im, err := h.Image()
	if err != nil {
		return nil, err
	}
	return h.Describe(im), nil
}

// Describe lists im's regular files as ImageFiles does, with the kernel's
// and initrd's host sources named.
func (h *HW) Describe(im *iso9660.Image) []File {
	files := ImageFiles(im)
	for i, f := range files {
		switch f.Path {
		case bootloader.KernelPath:
			files[i].Source = h.Plan.Kernel
		case bootloader.InitrdPath:
			files[i].Source = bootloader.InitrdContents(h.Plan)
		}
	}
	return files
}

// ImageFiles lists an ISO image's regular files, sorted by path, for
// people: -n prints them.
func ImageFiles(im *iso9660.Image) []File {
	var out []File
	for _, e := range im.Entries() {
		if e.Mode&fs.ModeType != 0 {
			continue
		}
		name := e.Name
		if len(name) == 0 || name[0] != '/' {
			name = "/" + name
		}
		out = append(out, File{Path: name, Size: e.Size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Layout describes files as lines for people: path and size.
func Layout(files []File) []string {
	w := 0
	for _, f := range files {
		w = max(w, len(f.Path))
	}
	var lines []string
	for _, f := range files {
		l := fmt.Sprintf("  %-*s %10d bytes", w, f.Path, f.Size)
		if f.Source != "" {
			l += "  (" + f.Source + ")"
		}
		lines = append(lines, l)
	}
	return lines
}
