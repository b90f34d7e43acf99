package bootloader_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/pkg/bootloader"
	"github.com/rumptools/rumptools/pkg/initrd"
	"github.com/rumptools/rumptools/pkg/iso9660"
	"github.com/rumptools/rumptools/pkg/iso9660/isotest"
	"github.com/rumptools/rumptools/pkg/launch"
)

func needGRUB(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("grub-mkimage"); err != nil {
		t.Skip("grub-mkimage not installed (Debian packages grub-pc-bin and grub-common)")
	}
	if _, err := os.Stat("/usr/lib/grub/i386-pc/cdboot.img"); err != nil {
		t.Skip("GRUB for i386-pc not installed (Debian package grub-pc-bin)")
	}
}

func needSyslinux(t *testing.T) {
	t.Helper()
	if _, err := (bootloader.Host{}).Setup(bootloader.SYSLINUX, bootloader.Menu{Kernel: "/k"}); err != nil {
		t.Skipf("ISOLINUX not installed (Debian packages isolinux and syslinux-common): %v", err)
	}
}

func need(t *testing.T, l bootloader.Loader) {
	t.Helper()
	if l == bootloader.GRUB {
		needGRUB(t)
	} else {
		needSyslinux(t)
	}
}

func TestParseLoader(t *testing.T) {
	for in, want := range map[string]bootloader.Loader{"grub": bootloader.GRUB, "GRUB": bootloader.GRUB, "syslinux": bootloader.SYSLINUX, "isolinux": bootloader.SYSLINUX} {
		if got, err := bootloader.ParseLoader(in); got != want || err != nil {
			t.Errorf("ParseLoader(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := bootloader.ParseLoader("lilo"); err == nil || !strings.Contains(err.Error(), `unknown boot loader "lilo" (want grub or syslinux)`) {
		t.Errorf("ParseLoader(lilo): %v", err)
	}
}

func content(t *testing.T, e iso9660.Entry) []byte {
	t.Helper()
	rc, err := e.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != e.Size {
		t.Fatalf("%s: %d bytes, entry says %d", e.Name, len(b), e.Size)
	}
	return b
}

func TestGRUBSetup(t *testing.T) {
	needGRUB(t)
	m := bootloader.Menu{Kernel: "/boot/kernel", Modules: []string{"/json.cfg"}}
	a, err := bootloader.Host{}.Setup(bootloader.GRUB, m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bootloader.Host{}.Setup(bootloader.GRUB, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Entries) != 2 || a.Entries[0].Name != bootloader.GRUBImage || a.Entries[1].Name != bootloader.GRUBConfig {
		t.Fatalf("entries %+v", a.Entries)
	}
	// grub-mkimage gives the same core image for the same inputs.
	if !bytes.Equal(content(t, a.Entries[0]), content(t, b.Entries[0])) {
		t.Errorf("two grub-mkimage runs differ")
	}
	img := content(t, a.Entries[0])
	cdboot, _ := os.ReadFile("/usr/lib/grub/i386-pc/cdboot.img")
	if !bytes.HasPrefix(img, cdboot) {
		t.Errorf("core image does not start with cdboot.img")
	}
	want := "serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1\n" +
		"terminal_input serial console\nterminal_output serial console\n" +
		"set timeout=0\nset default=0\n" +
		"menuentry rumprun {\n\tmultiboot /boot/kernel\n\tmodule /json.cfg\n}\n"
	if got := string(content(t, a.Entries[1])); got != want {
		t.Errorf("grub.cfg:\n%s\nwant:\n%s", got, want)
	}
	hybrid, _ := os.ReadFile("/usr/lib/grub/i386-pc/boot_hybrid.img")
	if bt := a.Boot; bt.Image != bootloader.GRUBImage || !bt.InfoTable || bt.LoadSectors != 4 || bt.Hybrid != iso9660.HybridGRUB2 || !bytes.Equal(bt.MBR, hybrid[:432]) {
		t.Errorf("boot setup %+v", bt)
	}
}

func TestSyslinuxSetup(t *testing.T) {
	needSyslinux(t)
	s, err := bootloader.Host{}.Setup(bootloader.SYSLINUX, bootloader.Menu{Kernel: "/boot/kernel", Modules: []string{"/boot/initrd"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range s.Entries {
		names = append(names, e.Name)
	}
	want := []string{"/isolinux/isolinux.bin", "/isolinux/ldlinux.c32", "/isolinux/libcom32.c32", "/isolinux/mboot.c32", "/isolinux/isolinux.cfg"}
	if !slices.Equal(names, want) {
		t.Errorf("entries %q, want %q", names, want)
	}
	cfg := string(content(t, s.Entries[4]))
	if cfg != "SERIAL 0 115200\nPROMPT 0\nTIMEOUT 0\nDEFAULT rumprun\nLABEL rumprun\n\tKERNEL mboot.c32\n\tAPPEND -aout /boot/kernel --- /boot/initrd\n" {
		t.Errorf("isolinux.cfg:\n%s", cfg)
	}
	if s.Boot.Image != bootloader.ISOLINUXBin || s.Boot.Hybrid != iso9660.HybridISOLINUX || len(s.Boot.MBR) != 432 || !s.Boot.InfoTable {
		t.Errorf("boot setup %+v", s.Boot)
	}
}

func TestMissingLoader(t *testing.T) {
	m := bootloader.Menu{Kernel: "/boot/kernel"}
	_, err := bootloader.Host{GrubMkimage: "no-such-grub-mkimage"}.Setup(bootloader.GRUB, m)
	if err == nil || err.Error() != "no-such-grub-mkimage not found: install grub-pc-bin and grub-common" {
		t.Errorf("missing grub-mkimage: %v", err)
	}
	if _, err := exec.LookPath("grub-mkimage"); err == nil {
		_, err = bootloader.Host{GrubDir: "/nonexistent/i386-pc"}.Setup(bootloader.GRUB, m)
		if err == nil || err.Error() != "GRUB for i386-pc not found (/nonexistent/i386-pc/cdboot.img): install grub-pc-bin and grub-common" {
			t.Errorf("missing GRUB directory: %v", err)
		}
	}
	_, err = bootloader.Host{SyslinuxDirs: []string{"/nonexistent/a", "/nonexistent/b"}}.Setup(bootloader.SYSLINUX, m)
	if err == nil || err.Error() != "isolinux.bin not found in /nonexistent/a, /nonexistent/b: install isolinux" {
		t.Errorf("missing ISOLINUX: %v", err)
	}

	// An isolinux.bin without the hybrid entry point.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "isolinux.bin"), make([]byte, 4096), 0o644)
	os.WriteFile(filepath.Join(dir, "isohdpfx.bin"), make([]byte, 432), 0o644)
	_, err = bootloader.Host{SyslinuxDirs: []string{dir}}.Setup(bootloader.SYSLINUX, m)
	if err == nil || !strings.Contains(err.Error(), "has no hybrid boot support") {
		t.Errorf("old isolinux.bin: %v", err)
	}
	// Then the modules.
	if real, err := os.ReadFile("/usr/lib/ISOLINUX/isolinux.bin"); err == nil {
		os.WriteFile(filepath.Join(dir, "isolinux.bin"), real, 0o644)
		_, err = bootloader.Host{SyslinuxDirs: []string{dir}}.Setup(bootloader.SYSLINUX, m)
		if err == nil || err.Error() != "ldlinux.c32 not found in "+dir+": install syslinux-common" {
			t.Errorf("missing ldlinux.c32: %v", err)
		}
	}
	if _, err := (bootloader.Host{}).Setup(bootloader.GRUB, bootloader.Menu{Kernel: "/boot/my kernel"}); err == nil {
		t.Errorf("a path with a space was accepted")
	}
}

// newPlan runs launch.New as rump-mkiso does.
func newPlan(t *testing.T, kernel, initrdPath, cfg string) (*launch.Plan, error) {
	t.Helper()
	o := launch.Options{Kernel: kernel, Initrd: initrdPath}
	if cfg != "" {
		o.ConfigFile = filepath.Join(t.TempDir(), "json.cfg")
		if err := os.WriteFile(o.ConfigFile, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, _, err := bootloader.NewPlan(o)
	return p, err
}

func mustPlan(t *testing.T, kernel, initrdPath, cfg string) *launch.Plan {
	t.Helper()
	p, err := newPlan(t, kernel, initrdPath, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// userInitrd writes an initrd with a file and its own json.cfg.
func userInitrd(t *testing.T, gz bool, cfg string) string {
	t.Helper()
	b := initrd.NewBuilder(initrd.Options{Mtime: 0, Gzip: gz})
	if err := b.AddData("etc/motd", []byte("hello from the initrd\n"), 0o644, "motd"); err != nil {
		t.Fatal(err)
	}
	if err := b.AddData("json.cfg", []byte(cfg), 0o644, "cfg"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.WriteArchive(&buf); err != nil {
		t.Fatal(err)
	}
	// Leave the length off a multiple of 4, as a hand-made archive may.
	if !gz {
		buf.WriteString("\x00")
	}
	p := filepath.Join(t.TempDir(), "app.initrd")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeImage builds and writes the image, and checks it with every reader.
func writeImage(t *testing.T, o bootloader.Options) (string, *iso9660.Image) {
	t.Helper()
	im, err := bootloader.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "boot.iso")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := im.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p, im
}

func checkImage(t *testing.T, p string, im *iso9660.Image, l bootloader.Loader) {
	t.Helper()
	h, path := iso9660.HybridGRUB2, bootloader.GRUBImage
	if l == bootloader.SYSLINUX {
		h, path = iso9660.HybridISOLINUX, bootloader.ISOLINUXBin
	}
	isotest.Check(t, p, im.Entries(), isotest.Options{Masked: isotest.Masks(path, h)})
	isotest.CheckBoot(t, p, path, h)
	isotest.CheckLoaderMBR(t, p, h)
}

func entry(t *testing.T, im *iso9660.Image, name string) []byte {
	t.Helper()
	for _, e := range im.Entries() {
		if "/"+e.Name == name {
			return content(t, e)
		}
	}
	t.Fatalf("%s not in the image", name)
	return nil
}

// unpack lists the regular files of a (possibly gzip, possibly
// concatenated) newc stream, later archives after earlier ones.
func unpack(t *testing.T, data []byte) []string {
	t.Helper()
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data)) // reads every member
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	var files []string
	for len(bytes.TrimLeft(data, "\x00")) > 0 {
		skipped := len(data) - len(bytes.TrimLeft(data, "\x00"))
		if skipped%4 != 0 {
			t.Fatalf("archive starts %d bytes after a 4-byte boundary", skipped%4)
		}
		data = data[skipped:]
		cr := &countReader{r: bytes.NewReader(data)}
		r, err := initrd.NewReader(cr)
		if err != nil {
			t.Fatal(err)
		}
		for {
			h, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(r)
			if h.Type() == initrd.TypeReg {
				files = append(files, h.Name+"="+string(body))
			}
		}
		data = data[cr.n:]
	}
	return files
}

type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(b []byte) (int, error) {
	// One byte at a time, so that n is where the reader stopped.
	if len(b) > 1 {
		b = b[:1]
	}
	n, err := c.r.Read(b)
	c.n += n
	return n, err
}

const initrdCfg = `{"cmdline": "probe from-initrd probe-exit=5"}`

func TestPayload(t *testing.T) {
	needGRUB(t)
	k64 := probe.Kernel(t, probe.Flavor{Bits: 64})
	k64i := probe.Kernel(t, probe.Flavor{Bits: 64, Initrd: true})
	cfg := `{"cmdline": "probe payload probe-exit=7", "env": {"A": "b c"}}`
	build := func(p *launch.Plan) *iso9660.Image {
		t.Helper()
		im, err := bootloader.Build(bootloader.Options{Plan: p, Loader: bootloader.GRUB})
		if err != nil {
			t.Fatal(err)
		}
		return im
	}

	t.Run("rumprun", func(t *testing.T) {
		p := mustPlan(t, k64, "", cfg)
		im := build(p)
		wire, _ := p.Config.Wire()
		if got := entry(t, im, "/json.cfg"); !bytes.Equal(got, wire) {
			t.Errorf("/json.cfg = %s, want %s", got, wire)
		}
		if !strings.Contains(string(entry(t, im, bootloader.GRUBConfig)), "\tmultiboot /boot/kernel\n\tmodule /json.cfg\n") {
			t.Errorf("grub.cfg does not load the config module")
		}
		kernel, _ := os.ReadFile(k64)
		if !bytes.Equal(entry(t, im, "/boot/kernel"), kernel) {
			t.Errorf("/boot/kernel differs from the kernel")
		}
		if im.VolumeID != "PROBE64" {
			t.Errorf("volume id %q", im.VolumeID)
		}
	})
	t.Run("rumprun refuses an initrd", func(t *testing.T) {
		_, err := newPlan(t, k64, userInitrd(t, false, initrdCfg), cfg)
		if err == nil || !strings.Contains(err.Error(), "cannot read an initrd: it does not declare the initrd/1 boot protocol") || !strings.Contains(err.Error(), "rump-mkiso -d") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("wire form too large", func(t *testing.T) {
		p := mustPlan(t, k64, "", `{"cmdline": "probe `+strings.Repeat("x", 4100)+`"}`)
		_, err := bootloader.Build(bootloader.Options{Plan: p, Loader: bootloader.GRUB})
		if err == nil || !strings.Contains(err.Error(), "reads at most 4095") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("not multiboot", func(t *testing.T) {
		self, _ := os.Executable()
		_, err := newPlan(t, self, "", cfg)
		if err == nil || !strings.Contains(err.Error(), "not a multiboot kernel") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("initrd built from the config", func(t *testing.T) {
		p := mustPlan(t, k64i, "", cfg)
		canonical, _ := p.Config.Canonical()
		got := unpack(t, entry(t, build(p), "/boot/initrd"))
		if !slices.Equal(got, []string{"json.cfg=" + string(canonical)}) {
			t.Errorf("initrd holds %q", got)
		}
	})
	for _, gz := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "gzip"}[gz]
		t.Run("config appended to a "+name+" initrd", func(t *testing.T) {
			user := userInitrd(t, gz, initrdCfg)
			p := mustPlan(t, k64i, user, cfg)
			canonical, _ := p.Config.Canonical()
			data := entry(t, build(p), "/boot/initrd")
			orig, _ := os.ReadFile(user)
			if !bytes.HasPrefix(data, orig) {
				t.Fatalf("the user's initrd is not kept as it is")
			}
			got := unpack(t, data)
			want := []string{"etc/motd=hello from the initrd\n", "json.cfg=" + initrdCfg, "json.cfg=" + string(canonical)}
			if !slices.Equal(got, want) {
				t.Errorf("initrd holds %q, want %q", got, want)
			}
		})
	}
	t.Run("initrd already holds the config", func(t *testing.T) {
		user := userInitrd(t, false, initrdCfg)
		p := mustPlan(t, k64i, user, initrdCfg)
		orig, _ := os.ReadFile(user)
		if got := entry(t, build(p), "/boot/initrd"); !bytes.Equal(got, orig) {
			t.Errorf("initrd changed although its config is the one given")
		}
	})
	t.Run("initrd grows while written", func(t *testing.T) {
		user := userInitrd(t, false, initrdCfg)
		p := mustPlan(t, k64i, user, cfg)
		im := build(p)
		f, _ := os.OpenFile(user, os.O_APPEND|os.O_WRONLY, 0)
		f.Write([]byte("more"))
		f.Close()
		_, err := im.WriteTo(io.Discard)
		if err == nil || !strings.Contains(err.Error(), "grew while the image was written") {
			t.Errorf("got %v", err)
		}
	})
}

// bootISO boots an image in QEMU as a CD or as a raw disk.
func bootISO(t *testing.T, img string, disk bool) *probe.Result {
	t.Helper()
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed (Debian package qemu-system-x86)")
	}
	args := []string{"-accel", "tcg", "-m", "128", "-nodefaults", "-vga", "none", "-display", "none",
		"-serial", "stdio", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"}
	if disk {
		args = append(args, "-drive", "format=raw,file="+img)
	} else {
		args = append(args, "-cdrom", img, "-boot", "d")
	}
	res := probe.RunCmd(t, exec.Command("qemu-system-x86_64", args...), 90*time.Second)
	// GRUB leaves a carriage return in front of the kernel's first line.
	r, err := probe.Parse(bytes.ReplaceAll(res.Output, []byte("\r"), nil))
	if err != nil {
		t.Fatalf("%v\n%s", err, res.Output)
	}
	if !r.Ended || !r.Halted {
		t.Fatalf("the probe did not finish:\n%s", res.Output)
	}
	return r
}

func TestBoot(t *testing.T) {
	cases := []struct {
		name   string
		loader bootloader.Loader
		flavor probe.Flavor
		initrd string // "", "plain", "gzip"
		cfg    string // "" reuses the initrd's
		media  []bool // boot as disk?
	}{
		{"grub rumprun 64", bootloader.GRUB, probe.Flavor{Bits: 64}, "", `{"cmdline": "probe grub probe-exit=3", "env": {"X": "1,2"}}`, []bool{false, true}},
		{"syslinux rumprun 32", bootloader.SYSLINUX, probe.Flavor{Bits: 32}, "", `{"cmdline": "probe syslinux probe-exit=4", "hostname": "iso"}`, []bool{false, true}},
		{"grub initrd/1 32 plain", bootloader.GRUB, probe.Flavor{Bits: 32, Initrd: true}, "plain", `{"cmdline": "probe grub-initrd probe-exit=6"}`, []bool{false}},
		{"grub initrd/1 64 gzip", bootloader.GRUB, probe.Flavor{Bits: 64, Initrd: true}, "gzip", `{"cmdline": "probe grub-gzip probe-exit=8"}`, []bool{true}},
		{"syslinux initrd/1 64 none", bootloader.SYSLINUX, probe.Flavor{Bits: 64, Initrd: true}, "", `{"cmdline": "probe syslinux-initrd probe-exit=9"}`, []bool{false}},
		{"syslinux initrd/1 32 unchanged", bootloader.SYSLINUX, probe.Flavor{Bits: 32, Initrd: true}, "plain", "", []bool{true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			need(t, c.loader)
			k := probe.Kernel(t, c.flavor)
			var user string
			if c.initrd != "" {
				user = userInitrd(t, c.initrd == "gzip", initrdCfg)
			}
			p := mustPlan(t, k, user, c.cfg)
			img, im := writeImage(t, bootloader.Options{Plan: p, Loader: c.loader, Time: time.Unix(1700000000, 0)})
			checkImage(t, img, im, c.loader)

			for _, disk := range c.media {
				r := bootISO(t, img, disk)
				where := map[bool]string{false: "CD", true: "disk"}[disk]
				wantLoader := map[bootloader.Loader]string{bootloader.GRUB: "GRUB 2", bootloader.SYSLINUX: "ISOLINUX"}[c.loader]
				if !strings.HasPrefix(r.Loader, wantLoader) {
					t.Errorf("%s: loader %q, want %s", where, r.Loader, wantLoader)
				}
				if len(r.Modules) != 1 {
					t.Fatalf("%s: %d modules:\n%s", where, len(r.Modules), r.Output)
				}
				m := r.Modules[0]
				var text string
				if !c.flavor.Initrd {
					wire, _ := p.Config.Wire()
					if string(m.JSON) != string(wire) || m.Size != len(wire) {
						t.Errorf("%s: module %q (%d bytes), want the wire form %q", where, m.JSON, m.Size, wire)
					}
					text = string(wire)
				} else {
					canonical, _ := p.Config.Canonical()
					if !p.SendConfig {
						canonical = []byte(initrdCfg) // the initrd's own, as it is
					}
					if string(m.JSONCfg) != string(canonical) {
						t.Errorf("%s: /json.cfg %q, want %q", where, m.JSONCfg, canonical)
					}
					if m.Gzip != (c.initrd == "gzip") {
						t.Errorf("%s: gzip %v", where, m.Gzip)
					}
					var names []string
					for _, e := range m.Cpio {
						names = append(names, e.Name)
					}
					want := []string{"json.cfg"}
					if c.initrd != "" {
						want = []string{"etc", "etc/motd", "json.cfg"}
						if p.SendConfig {
							want = append(want, "json.cfg")
						}
					}
					if !slices.Equal(names, want) || m.CpioError != "" {
						t.Errorf("%s: initrd entries %q (%s), want %q", where, names, m.CpioError, want)
					}
					text = string(canonical)
				}
				i := strings.Index(text, "probe-exit=")
				wantExit := int(text[i+len("probe-exit=")] - '0')
				if r.ExitStatus != wantExit || !slices.Equal(r.Calls, []probe.Call{{Name: "probe", Returned: wantExit}}) {
					t.Errorf("%s: exit %d, calls %+v; want %d", where, r.ExitStatus, r.Calls, wantExit)
				}
			}
		})
	}
}
