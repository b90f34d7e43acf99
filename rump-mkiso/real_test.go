package main

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/internal/realkernel"
	"github.com/rumptools/rumptools/pkg/bootloader"
	"github.com/rumptools/rumptools/pkg/kernel"
)

func TestMain(m *testing.M) { os.Exit(realkernel.Main(m)) }

// An unstripped real kernel, as every bake leaves it, boots from an ISO
// with GRUB and with ISOLINUX, from a CD drive and as a raw disk, and its
// program receives argv, environment and hostname. ISOLINUX's mboot.c32
// stopped at "boot failed" on such a kernel when it loaded it as an ELF
// file.
func TestRealKernelBoots(t *testing.T) {
	k := realkernel.HW(t).ShowKernel(t)
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed (Debian package qemu-system-x86)")
	}
	f, err := elf.Open(k)
	if err != nil {
		t.Fatal(err)
	}
	unstripped := f.Section(".debug_info") != nil && f.Section(".symtab") != nil
	f.Close()
	if !unstripped {
		t.Fatalf("%s has no debugging information and symbols: not the kernel a bake leaves", k)
	}

	dir := t.TempDir()
	for _, loader := range []bootloader.Loader{bootloader.GRUB, bootloader.SYSLINUX} {
		t.Run(string(loader), func(t *testing.T) {
			if _, err := (bootloader.Host{}).Setup(loader, bootloader.Menu{Kernel: "/k"}); err != nil {
				t.Skipf("%s not installed: %v", loader, err)
			}
			iso := filepath.Join(dir, string(loader)+".iso")
			code, _, errs := mkiso(t, "", "-B", string(loader), "-o", iso, "-N", "iso-"+string(loader),
				"-e", "T_LOADER="+string(loader)+" loader", k, "--", "two words", "ünï,cødé", "exit:3")
			if code != 0 {
				t.Fatalf("rump-mkiso: exit %d: %s", code, errs)
			}
			for _, disk := range []bool{false, true} {
				media := map[bool]string{false: "CD", true: "disk"}[disk]
				t.Run(media, func(t *testing.T) {
					t.Parallel()
					r := bootRealISO(t, iso, disk)
					lines := strings.Split(strings.ReplaceAll(string(r.Output), "\r", ""), "\n")
					for _, want := range []string{"argc=4", "argv[0]=<show>", "argv[1]=<two words>", "argv[2]=<ünï,cødé>",
						"argv[3]=<exit:3>", "env <T_LOADER=" + string(loader) + " loader>", "hostname=<iso-" + string(loader) + ">"} {
						if !slices.Contains(lines, want) {
							t.Errorf("no line %q in the output:\n%s\nQEMU: %s", want, r.Output, r.Stderr)
						}
					}
					if !slices.Equal(r.Calls, []probe.Call{{Name: "show", Returned: 3}}) || r.ExitStatus != 3 || !r.Halted {
						t.Errorf("calls %+v, exit %d, halted %v; want show returning 3, then halted:\n%s", r.Calls, r.ExitStatus, r.Halted, r.Output)
					}
				})
			}
		})
	}
}

// bootRealISO boots an image in QEMU as a CD or as a raw disk and stops
// QEMU once the kernel halted.
func bootRealISO(t *testing.T, img string, disk bool) *probe.Result {
	t.Helper()
	args := []string{"-accel", "tcg", "-m", "256", "-nodefaults", "-vga", "none", "-display", "none",
		"-serial", "stdio", "-no-reboot", "-net", "none"}
	if disk {
		// snapshot=on: the same image may be booting as a CD meanwhile,
		// and QEMU locks a writable disk image.
		args = append(args, "-drive", "format=raw,snapshot=on,file="+img)
	} else {
		args = append(args, "-cdrom", img, "-boot", "d")
	}
	// Reading 21 MB through the BIOS under TCG takes a while.
	return probe.RunCmd(t, exec.Command("qemu-system-x86_64", args...), 3*time.Minute)
}

// mboot.c32 -aout loads the span of the multiboot header's addresses
// instead of the ELF load segments: for a rumprun kernel that span holds
// the same bytes at the same addresses, and the entry is the same.
func TestRealKernelAOutSpan(t *testing.T) {
	k := realkernel.HW(t).ShowKernel(t)
	info, err := kernel.Options{NoToolchain: true}.Open(k)
	if err != nil {
		t.Fatal(err)
	}
	h := info.Multiboot
	if h == nil || !h.AOutKludge() {
		t.Fatalf("%s: multiboot header %+v carries no load addresses", k, h)
	}
	file, err := os.ReadFile(k)
	if err != nil {
		t.Fatal(err)
	}
	start := h.Offset - int64(h.HeaderAddr-h.LoadAddr)
	span := file[start : start+int64(h.LoadEndAddr-h.LoadAddr)]
	f, err := elf.Open(k)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if uint64(h.EntryAddr) != f.Entry {
		t.Errorf("header entry %#x, ELF entry %#x", h.EntryAddr, f.Entry)
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		if p.Paddr < uint64(h.LoadAddr) || p.Paddr+p.Memsz > uint64(h.BSSEndAddr) {
			t.Errorf("segment at %#x+%#x lies outside the header's %#x-%#x", p.Paddr, p.Memsz, h.LoadAddr, h.BSSEndAddr)
			continue
		}
		data := make([]byte, p.Filesz)
		if _, err := p.ReadAt(data, 0); err != nil {
			t.Fatal(err)
		}
		off := p.Paddr - uint64(h.LoadAddr)
		if off+p.Filesz > uint64(len(span)) || !bytes.Equal(span[off:off+p.Filesz], data) {
			t.Errorf("segment at %#x: the header's span does not hold its bytes", p.Paddr)
		}
	}
}
