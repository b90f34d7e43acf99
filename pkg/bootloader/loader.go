package bootloader

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/rumptools/rumptools/pkg/atomicfile"
	"github.com/rumptools/rumptools/pkg/iso9660"
)

// Loader names a boot loader.
type Loader string

const (
	// GRUB is GRUB 2 for i386-pc, a core image made by grub-mkimage.
	GRUB Loader = "grub"
	// SYSLINUX is ISOLINUX with mboot.c32.
	SYSLINUX Loader = "syslinux"
)

// ParseLoader returns the loader named s: "grub", or "syslinux" (also
// spelt "isolinux").
func ParseLoader(s string) (Loader, error) {
	switch strings.ToLower(s) {
	case "grub", "grub2":
		return GRUB, nil
	case "syslinux", "isolinux":
		return SYSLINUX, nil
	}
	return "", fmt.Errorf("unknown boot loader %q (want grub or syslinux)", s)
}

// Host says where the host's boot loader files are. The zero value looks
// where Debian, Fedora and Arch install them.
type Host struct {
	GrubMkimage  string   // program; "" means grub-mkimage on PATH
	GrubDir      string   // i386-pc platform directory; "" means /usr/lib/grub/i386-pc
	SyslinuxDirs []string // searched in order for each SYSLINUX file; nil means the usual places
}

// DefaultSyslinuxDirs are searched for isolinux.bin, isohdpfx.bin and the
// BIOS .c32 modules.
var DefaultSyslinuxDirs = []string{
	"/usr/lib/ISOLINUX", "/usr/lib/syslinux/modules/bios", // Debian, Ubuntu
	"/usr/share/syslinux",    // Fedora
	"/usr/lib/syslinux/bios", // Arch
	"/usr/lib/syslinux",      // older layouts
}

// Menu is what the loader boots, as paths on the medium.
type Menu struct {
	Kernel  string   // the multiboot kernel
	Modules []string // multiboot modules, in order
}

// Setup is what a loader adds to the medium.
type Setup struct {
	Entries []iso9660.Entry
	Boot    *iso9660.Boot
}

// GRUBModules are built into the core image, so that the medium needs no
// module directory: disk and CD access, the ISO file system, multiboot, the
// serial console and normal mode for grub.cfg.
var GRUBModules = []string{"biosdisk", "iso9660", "multiboot", "normal", "serial", "terminal", "echo"}

// Paths of the loaders' files on the medium.
const (
	GRUBImage    = "/boot/grub/eltorito.img"
	GRUBConfig   = "/boot/grub/grub.cfg"
	ISOLINUXDir  = "/isolinux"
	ISOLINUXBin  = "/isolinux/isolinux.bin"
	ISOLINUXConf = "/isolinux/isolinux.cfg"
)

// Setup prepares loader l to boot m.
func (h Host) Setup(l Loader, m Menu) (*Setup, error) {
	for _, p := range append([]string{m.Kernel}, m.Modules...) {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " \t\n'\"\\;") {
			return nil, fmt.Errorf("bootloader: path %q on the medium must be absolute and plain", p)
		}
	}
	switch l {
	case GRUB:
		return h.grub(m)
	case SYSLINUX:
		return h.syslinux(m)
	}
	return nil, fmt.Errorf("bootloader: unknown boot loader %q", l)
}

func dataEntry(name string, data []byte, perm fs.FileMode) iso9660.Entry {
	return iso9660.Entry{Name: name, Mode: perm, Size: int64(len(data)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

// grubConfig boots m at once, on the serial console and the screen.
func grubConfig(m Menu) []byte {
	var b strings.Builder
	b.WriteString("serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1\n")
	b.WriteString("terminal_input serial console\n")
	b.WriteString("terminal_output serial console\n")
	b.WriteString("set timeout=0\nset default=0\n")
	b.WriteString("menuentry rumprun {\n")
	fmt.Fprintf(&b, "\tmultiboot %s\n", m.Kernel)
	for _, mod := range m.Modules {
		fmt.Fprintf(&b, "\tmodule %s\n", mod)
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

func (h Host) grub(m Menu) (*Setup, error) {
	const pkgs = "install grub-pc-bin and grub-common"
	mkimage := h.GrubMkimage
	if mkimage == "" {
		mkimage = "grub-mkimage"
	}
	prog, err := exec.LookPath(mkimage)
	if err != nil {
		return nil, fmt.Errorf("%s not found: %s", mkimage, pkgs)
	}
	dir := h.GrubDir
	if dir == "" {
		dir = "/usr/lib/grub/i386-pc"
	}
	for _, f := range []string{"cdboot.img", "boot_hybrid.img", "kernel.img"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return nil, fmt.Errorf("GRUB for i386-pc not found (%s): %s", filepath.Join(dir, f), pkgs)
		}
	}
	mbr, err := readPrefix(filepath.Join(dir, "boot_hybrid.img"), 432)
	if err != nil {
		return nil, err
	}

	// grub-mkimage cannot write to a pipe (it syncs its output), so it
	// writes to a work file, which has no name: nothing is left behind
	// however the tool ends. Its output depends only on the module files
	// and the arguments.
	work := atomicfile.NewWork("rump-mkiso-grub")
	defer work.Close()
	out, err := work.Path("eltorito.img")
	if err != nil {
		return nil, err
	}
	args := append([]string{"-O", "i386-pc-eltorito", "-d", dir, "-p", "/boot/grub", "-o", out}, GRUBModules...)
	cmd := exec.Command(prog, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v: %s", mkimage, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	img, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	return &Setup{
		Entries: []iso9660.Entry{
			dataEntry(GRUBImage, img, 0o644),
			dataEntry(GRUBConfig, grubConfig(m), 0o644),
		},
		Boot: &iso9660.Boot{Image: GRUBImage, LoadSectors: 4, InfoTable: true, MBR: mbr, Hybrid: iso9660.HybridGRUB2},
	}, nil
}

// syslinuxConfig boots m at once with mboot.c32, on the serial console and
// the screen.
//
// -aout makes mboot.c32 load a kernel whose multiboot header carries load
// addresses (the a.out kludge, as every rumprun hw kernel's does) from
// those addresses, as GRUB 2 and QEMU do, instead of through its ELF
// loader. That loader also copies every non-allocated section above the
// kernel for the multiboot symbol table, and with an unstripped rumprun
// kernel (21 MB, mostly DWARF) it ends in "mboot.c32: boot failed". What
// a rumprun kernel's header spans is its ELF load segments as they lie in
// the file; kernels without load addresses in their header still go
// through the ELF loader.
func syslinuxConfig(m Menu) []byte {
	var b strings.Builder
	b.WriteString("SERIAL 0 115200\nPROMPT 0\nTIMEOUT 0\nDEFAULT rumprun\n")
	b.WriteString("LABEL rumprun\n\tKERNEL mboot.c32\n\tAPPEND -aout " + m.Kernel)
	for _, mod := range m.Modules {
		b.WriteString(" --- " + mod)
	}
	b.WriteString("\n")
	return []byte(b.String())
}

// isolinuxHybrid is the signature isolinux.bin carries at offset 0x40 when
// it has the entry point that the hybrid MBR code jumps to.
var isolinuxHybrid = []byte{0xfb, 0xc0, 0x78, 0x70}

func (h Host) syslinux(m Menu) (*Setup, error) {
	dirs := h.SyslinuxDirs
	if dirs == nil {
		dirs = DefaultSyslinuxDirs
	}
	find := func(name, pkg string) (string, error) {
		for _, d := range dirs {
			p := filepath.Join(d, name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p, nil
			}
		}
		return "", fmt.Errorf("%s not found in %s: install %s", name, strings.Join(dirs, ", "), pkg)
	}
	bin, err := find("isolinux.bin", "isolinux")
	if err != nil {
		return nil, err
	}
	mbrPath, err := find("isohdpfx.bin", "isolinux")
	if err != nil {
		return nil, err
	}
	mbr, err := readPrefix(mbrPath, 432)
	if err != nil {
		return nil, err
	}
	head, err := readPrefix(bin, 0x44)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(head[0x40:0x44], isolinuxHybrid) {
		return nil, fmt.Errorf("%s has no hybrid boot support (signature at 0x40): ISOLINUX 4 or later is needed", bin)
	}
	s := &Setup{Boot: &iso9660.Boot{Image: ISOLINUXBin, LoadSectors: 4, InfoTable: true, MBR: mbr, Hybrid: iso9660.HybridISOLINUX}}
	e, err := fileEntry(ISOLINUXBin, bin)
	if err != nil {
		return nil, err
	}
	s.Entries = append(s.Entries, e)
	for _, c32 := range []string{"ldlinux.c32", "libcom32.c32", "mboot.c32"} {
		p, err := find(c32, "syslinux-common")
		if err != nil {
			return nil, err
		}
		e, err := fileEntry(ISOLINUXDir+"/"+c32, p)
		if err != nil {
			return nil, err
		}
		s.Entries = append(s.Entries, e)
	}
	s.Entries = append(s.Entries, dataEntry(ISOLINUXConf, syslinuxConfig(m), 0o644))
	return s, nil
}

// readPrefix reads the first n bytes of a file (all of it if shorter than
// n is an error).
func readPrefix(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := io.ReadFull(f, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: shorter than %d bytes", path, n)
		}
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return b, nil
}

// fileEntry describes a host file to copy onto the medium under name.
func fileEntry(name, path string) (iso9660.Entry, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return iso9660.Entry{}, err
	}
	if !fi.Mode().IsRegular() {
		return iso9660.Entry{}, fmt.Errorf("%s: not a regular file", path)
	}
	return iso9660.Entry{Name: name, Mode: 0o644, Size: fi.Size(),
		Open: func() (io.ReadCloser, error) { return os.Open(path) }}, nil
}
