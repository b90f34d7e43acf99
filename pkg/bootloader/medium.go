// Package bootloader makes a bootable ISO 9660 medium for a rumprun kernel:
// the boot loader from the host's installation (GRUB's i386-pc core image
// made by grub-mkimage, or ISOLINUX with mboot.c32), its configuration, and
// the kernel with its config or initrd as multiboot modules, delivered as
// DESIGN.md section 5 says:
//
//   - protocol rumprun (every kernel without the initrd/1 note): the config
//     in wire form in /json.cfg, the first multiboot module, which the kernel
//     reads without any disk driver;
//   - protocol initrd/1: /boot/initrd, the first module: the user's initrd,
//     followed by a small newc archive holding /json.cfg in canonical form
//     when the config differs from the one inside it (gzip-compressed when
//     the initrd is, so that it stays one valid gzip stream), or an initrd
//     built from the config alone.
//
// Both loaders run without a menu delay, on the serial console (COM1,
// 115200 8N1) and the screen. The images carry a hybrid MBR, so that the
// same file boots from a CD drive and as a raw disk.
package bootloader

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/initrd"
	"github.com/rumptools/rumptools/pkg/iso9660"
	"github.com/rumptools/rumptools/pkg/kernel"
	"github.com/rumptools/rumptools/pkg/launch"
)

// Paths of the payload on the medium.
const (
	KernelPath = "/boot/kernel"
	InitrdPath = "/boot/initrd"
	ConfigPath = "/json.cfg"
)

// Target describes an ISO for launch.New (see NewPlan): any machine's NICs and disks may
// be named, none is attached, and only multiboot (hw) kernels boot.
var Target = &launch.Target{Config: config.ISO, CheckKernel: checkKernel}

func checkKernel(k *kernel.Kernel) error {
	if k.Multiboot != nil {
		return nil
	}
	if k.Platform == kernel.PlatformXen {
		return errors.New("a Xen kernel cannot boot from an ISO (boot loaders start multiboot kernels): run it with rump-launch-xen or rump-launch-ec2, or bake it for hw")
	}
	return errors.New("not a multiboot kernel (no multiboot header in its first 8 KiB): boot loaders on an ISO start rumprun hw kernels")
}

// NewPlan is launch.New for an ISO. A kernel that cannot read an initrd
// is refused with what to do instead on a boot medium.
func NewPlan(o launch.Options) (*launch.Plan, []config.Diagnostic, error) {
	if o.Initrd != "" && o.Protocol != launch.ProtocolInitrd {
		k, err := kernel.Options{NoToolchain: true}.Open(o.Kernel) // the toolchain strings are not needed here
		if err != nil {
			return nil, nil, err
		}
		if o.Protocol == launch.ProtocolRumprun || !k.Supports(launch.ProtocolInitrd) {
			return nil, nil, fmt.Errorf("%s cannot read an initrd: it does not declare the %s boot protocol (rump-bake's kernels do, unless baked with --protocol rumprun). "+
				"Bake the files into the kernel, or put them in a data image (rump-mkiso -d DIR -o data.iso) that the config mounts with a \"blk\" entry",
				o.Kernel, launch.ProtocolInitrd)
		}
	}
	return launch.New(o, Target)
}

// Options describe one bootable medium.
type Options struct {
	Plan   *launch.Plan // from launch.New with Target
	Loader Loader
	Host   Host
	// Time is every time stamp on the medium and in a generated initrd.
	Time time.Time
	// VolumeID labels the medium; "" derives it from Plan.Name.
	VolumeID string
}

// Build returns the image to write; nothing is read beyond the kernel's and
// initrd's sizes and the loader files until the image is written.
func Build(o Options) (*iso9660.Image, error) {
	p := o.Plan
	if err := checkKernel(p.Info); err != nil {
		return nil, fmt.Errorf("%s: %v", p.Kernel, err)
	}
	t := o.Time
	if t.IsZero() {
		t = iso9660.DefaultTime
	}
	im := &iso9660.Image{VolumeID: o.VolumeID, Time: t, Application: "RUMP-MKISO"}
	if im.VolumeID == "" {
		im.VolumeID = iso9660.VolumeID(p.Name)
	}

	kern, err := fileEntry(KernelPath, p.Kernel)
	if err != nil {
		return nil, err
	}
	entries := []iso9660.Entry{kern}
	menu := Menu{Kernel: KernelPath}

	switch p.Protocol {
	case launch.ProtocolRumprun:
		wire, err := p.Config.Wire()
		if err != nil {
			return nil, err
		}
		if len(wire) > config.WireLimitHW {
			return nil, fmt.Errorf("the config's wire form is %d bytes; a rumprun hw kernel reads at most %d from its first module", len(wire), config.WireLimitHW)
		}
		entries = append(entries, dataEntry(ConfigPath, wire, 0o644))
		menu.Modules = []string{ConfigPath}
	case launch.ProtocolInitrd:
		e, err := initrdEntry(p, t)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
		menu.Modules = []string{InitrdPath}
	default:
		return nil, fmt.Errorf("unknown boot protocol %q", p.Protocol)
	}

	s, err := o.Host.Setup(o.Loader, menu)
	if err != nil {
		return nil, err
	}
	for _, e := range append(s.Entries, entries...) {
		if err := im.Add(e); err != nil {
			return nil, err
		}
	}
	im.Boot = s.Boot
	return im, nil
}

// InitrdContents says, for people (plans), what /boot/initrd holds for
// plan p: "" when the kernel reads no initrd (protocol rumprun).
func InitrdContents(p *launch.Plan) string {
	switch {
	case p.Protocol != launch.ProtocolInitrd:
		return ""
	case p.Initrd == "":
		return "an initrd of the config alone"
	case p.SendConfig:
		return p.Initrd + ", then the config replacing its /json.cfg"
	}
	return p.Initrd
}

// InitrdModule is what an initrd/1 kernel's first module holds: the bytes
// of the file Initrd (none when ""), then Appendix.
type InitrdModule struct {
	Initrd   string // the user's initrd, as it is
	Size     int64  // its size when laid out
	Appendix []byte // padding and an archive with the config, or nil
	Gzip     bool   // the initrd is gzip-compressed, and so is Appendix
}

// Module returns the first module for plan p of an initrd/1 kernel: the
// user's initrd alone when it holds the config, else followed by the
// config in an archive of its own (the kernel reads concatenated archives
// and the last /json.cfg wins), or that archive alone without an initrd.
// Generated entries carry time stamp t.
func Module(p *launch.Plan, t time.Time) (*InitrdModule, error) {
	if p.Initrd != "" {
		fi, err := os.Stat(p.Initrd)
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file", p.Initrd)
		}
		if !p.SendConfig {
			return &InitrdModule{Initrd: p.Initrd, Size: fi.Size()}, nil
		}
		canonical, err := p.Config.Canonical()
		if err != nil {
			return nil, err
		}
		magic, err := readPrefix(p.Initrd, 2)
		if err != nil {
			return nil, err
		}
		// gzip after gzip stays one valid gzip stream.
		gz := magic[0] == 0x1f && magic[1] == 0x8b
		a, err := configArchive(canonical, t, gz)
		if err != nil {
			return nil, err
		}
		if !gz {
			// A newc archive starts at a 4-byte boundary.
			a = append(make([]byte, (4-fi.Size()%4)%4), a...)
		}
		return &InitrdModule{Initrd: p.Initrd, Size: fi.Size(), Appendix: a, Gzip: gz}, nil
	}
	canonical, err := p.Config.Canonical()
	if err != nil {
		return nil, err
	}
	a, err := configArchive(canonical, t, false)
	if err != nil {
		return nil, err
	}
	return &InitrdModule{Appendix: a}, nil
}

// Open returns the module's bytes. The initrd yields exactly the size laid
// out, so that a file that grows or shrinks is caught by the writer rather
// than hidden by the appendix.
func (m *InitrdModule) Open() (io.ReadCloser, error) {
	if m.Initrd == "" {
		return io.NopCloser(bytes.NewReader(m.Appendix)), nil
	}
	f, err := os.Open(m.Initrd)
	if err != nil {
		return nil, err
	}
	r := io.MultiReader(&exactReader{r: f, n: m.Size, name: m.Initrd}, bytes.NewReader(m.Appendix))
	return readCloser{r, f}, nil
}

// initrdEntry is /boot/initrd for an initrd/1 kernel.
func initrdEntry(p *launch.Plan, t time.Time) (iso9660.Entry, error) {
	m, err := Module(p, t)
	if err != nil {
		return iso9660.Entry{}, err
	}
	return iso9660.Entry{Name: InitrdPath, Mode: 0o644, Size: m.Size + int64(len(m.Appendix)), Open: m.Open}, nil
}

// ErrTimeRange is returned (wrapped) by Build when Options.Time is outside
// what the time stamps of a generated initrd hold.
var ErrTimeRange = errors.New("outside what newc holds (0 to 4294967295, 1970 to 2106)")

// configArchive is a newc archive holding only json.cfg.
func configArchive(canonical []byte, t time.Time, gz bool) ([]byte, error) {
	if s := t.Unix(); s < 0 || s > 1<<32-1 {
		return nil, fmt.Errorf("the generated initrd's time stamp %d is %w", s, ErrTimeRange)
	}
	b := initrd.NewBuilder(initrd.Options{Mtime: t.Unix(), Gzip: gz})
	if err := b.AddData("json.cfg", canonical, 0o644, "the config"); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := b.WriteArchive(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// exactReader yields n bytes of r and fails if r has fewer or more.
type exactReader struct {
	r    io.Reader
	n    int64
	name string
}

func (e *exactReader) Read(b []byte) (int, error) {
	if e.n <= 0 {
		var one [1]byte
		if k, _ := io.ReadFull(e.r, one[:]); k > 0 {
			return 0, fmt.Errorf("%s grew while the image was written", e.name)
		}
		return 0, io.EOF
	}
	if int64(len(b)) > e.n {
		b = b[:e.n]
	}
	k, err := e.r.Read(b)
	e.n -= int64(k)
	if err == io.EOF && e.n > 0 {
		return k, fmt.Errorf("%s shrank while the image was written", e.name)
	}
	return k, err
}
