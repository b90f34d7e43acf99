package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/pkg/config"
)

func needGNUTar(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tar")
	if err == nil {
		if out, _ := exec.Command(p, "--version").Output(); bytes.Contains(out, []byte("GNU tar")) {
			return p
		}
	}
	t.Skip("GNU tar not installed (Debian package tar)")
	return ""
}

func needQEMU(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed (Debian package qemu-system-x86)")
	}
}

// extract writes the archive to dir, extracts it there with GNU tar as
// Compute Engine's documentation makes it, and returns disk.raw's path.
func extract(t *testing.T, tarProg, dir string, archive []byte) string {
	t.Helper()
	p := filepath.Join(dir, "img.tar.gz")
	if err := os.WriteFile(p, archive, 0o644); err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command(tarProg, "-tzf", p).CombinedOutput()
	if err != nil || string(list) != "disk.raw\n" {
		t.Fatalf("tar -tzf: %v\n%s", err, list)
	}
	x := exec.Command(tarProg, "-xSzf", p)
	x.Dir = dir
	if out, err := x.CombinedOutput(); err != nil {
		t.Fatalf("tar -xSzf: %v\n%s", err, out)
	}
	disk := filepath.Join(dir, "disk.raw")
	if st, err := os.Stat(disk); err != nil || st.Size() != 1<<30 {
		t.Fatalf("disk.raw: %v", err)
	}
	return disk
}

// TestArchiveBoots extracts the archive of a probe kernel with GNU tar and
// boots disk.raw in QEMU as Compute Engine presents a boot disk to
// SeaBIOS, with a virtio-net NIC: the probe shows the config the kernel
// received, with DHCP on vioif0 by default, and the devices.
func TestArchiveBoots(t *testing.T) {
	needGRUB(t)
	needQEMU(t)
	tarProg := needGNUTar(t)
	for _, f := range []probe.Flavor{{Bits: 64}, {Bits: 64, Initrd: true}} {
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			k := probe.Kernel(t, f)
			dir := t.TempDir()
			disk := extract(t, tarProg, dir, archiveOf(t, "-N", "gceprobe", "-e", "X=a,b", k, "--", "probe-exit=5", "two words"))
			cmd := exec.Command("qemu-system-x86_64", "-accel", "tcg", "-m", "128", "-nodefaults", "-vga", "none", "-display", "none",
				"-serial", "stdio", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
				"-drive", "file="+disk+",format=raw,if=virtio",
				"-netdev", "user,id=n,restrict=on", "-device", "virtio-net-pci,netdev=n")
			res := probe.RunCmd(t, cmd, 90*time.Second)
			// GRUB leaves a carriage return in front of the kernel's first line.
			p, err := probe.Parse(bytes.ReplaceAll(res.Output, []byte("\r"), nil))
			if err != nil {
				t.Fatalf("%v\n%s", err, res.Output)
			}
			if p.ExitStatus != 5 || len(p.Modules) != 1 {
				t.Fatalf("exit %d, modules %+v\n%s", p.ExitStatus, p.Modules, res.Output)
			}
			text := p.Modules[0].JSON
			if f.Initrd {
				text = p.Modules[0].JSONCfg
			}
			cfg, _, err := config.Parse("the kernel's config", text)
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			// DHCP on vioif0: written for today's kernels; an initrd/1
			// kernel runs it on every NIC itself, so no "net".
			netOK := len(cfg.Net) == 1 && cfg.Net[0].If == "vioif0" && cfg.Net[0].Method == "dhcp"
			if f.Initrd {
				netOK = cfg.Net == nil
			}
			if cfg.Hostname != "gceprobe" || len(cfg.RC) != 1 || fmt.Sprint(cfg.RC[0].Argv) != "[probe-exit=5 two words]" ||
				!netOK || len(cfg.Env) != 1 || cfg.Env[0].Value != "a,b" {
				t.Errorf("the kernel's config: %s", text)
			}
			var nic, blk bool
			for _, fn := range p.PCI {
				nic = nic || fn.Vendor == 0x1af4 && fn.Device == 0x1000
				blk = blk || fn.Vendor == 0x1af4 && fn.Device == 0x1001
			}
			if !nic || !blk {
				t.Errorf("PCI functions %v: want virtio-net and virtio-blk", p.PCI)
			}
		})
	}
}
