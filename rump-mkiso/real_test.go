package main

import (
	"bytes"
	"debug/elf"
	"fmt"
	"hash/crc32"
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

// An initrd/1 kernel boots from an ISO with its initrd as the first module,
// with GRUB and ISOLINUX, from a CD drive and as a raw disk: its program
// reads a file of the initrd and runs by the initrd's /json.cfg; with -c
// (and -e, -N, program arguments) it runs by the replacement instead,
// which the medium carries as an archive after the user's initrd. GRUB's
// images get a gzip initrd, ISOLINUX's a plain one, so that both ways of
// appending the replacement boot.
func TestRealInitrd(t *testing.T) {
	k := realkernel.HW(t).ShowKernel(t)
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed (Debian package qemu-system-x86)")
	}
	info, err := kernel.Options{NoToolchain: true}.Open(k)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Supports("initrd/1") {
		t.Fatalf("%s does not declare initrd/1: rump-bake links it into every hw kernel", k)
	}
	mkrd := realkernel.Tool(t, "rump-initrd")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	data := bytes.Repeat([]byte("initrd data, line after line\n"), 3000)
	if err := os.MkdirAll(filepath.Join(root, "srv"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "srv", "data.txt"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	file := fmt.Sprintf("file /srv/data.txt size=%d crc32=%08x mode=100644", len(data), crc32.ChecksumIEEE(data))
	cfg := filepath.Join(dir, "initrd.json")
	if err := os.WriteFile(cfg, []byte(`{"rc": [{"bin": "show", "argv": ["from initrd", "cat:/srv/data.txt", "exit:4"]}],
	  "env": {"T_FROM": "initrd"}, "hostname": "rd-host"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	replacement := filepath.Join(dir, "replacement.json")
	if err := os.WriteFile(replacement, []byte(`{"rc": [{"bin": "show", "argv": ["ignored"]}], "env": {"T_FROM": "-c"}}`), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, loader := range []bootloader.Loader{bootloader.GRUB, bootloader.SYSLINUX} {
		t.Run(string(loader), func(t *testing.T) {
			if _, err := (bootloader.Host{}).Setup(loader, bootloader.Menu{Kernel: "/k"}); err != nil {
				t.Skipf("%s not installed: %v", loader, err)
			}
			rd := filepath.Join(dir, string(loader)+".initrd")
			mk := []string{"-c", cfg, "-o", rd, root}
			if loader == bootloader.GRUB {
				mk = append([]string{"-z"}, mk...)
			}
			if out, err := exec.Command(mkrd, mk...).CombinedOutput(); err != nil {
				t.Fatalf("rump-initrd %q: %v\n%s", mk, err, out)
			}
			own := filepath.Join(dir, string(loader)+"-own.iso")
			if code, _, errs := mkiso(t, "", "-B", string(loader), "-o", own, k, rd); code != 0 {
				t.Fatalf("rump-mkiso: exit %d: %s", code, errs)
			}
			repl := filepath.Join(dir, string(loader)+"-c.iso")
			if code, _, errs := mkiso(t, "", "-B", string(loader), "-o", repl, "-c", replacement, "-N", "c-host",
				"-e", "T_MORE=a \"quoted\" value", k, rd, "--", "from -c", "cat:/srv/data.txt", "exit:5"); code != 0 {
				t.Fatalf("rump-mkiso -c: exit %d: %s", code, errs)
			}
			cases := []struct {
				name, iso string
				want      []string
				exit      int
			}{
				{"own", own, []string{"argv[1]=<from initrd>", file, "env <T_FROM=initrd>", "hostname=<rd-host>"}, 4},
				{"replaced", repl, []string{"argv[1]=<from -c>", file, "env <T_FROM=-c>", "env <T_MORE=a \"quoted\" value>", "hostname=<c-host>"}, 5},
			}
			for _, c := range cases {
				for _, disk := range []bool{false, true} {
					media := map[bool]string{false: "CD", true: "disk"}[disk]
					t.Run(c.name+"/"+media, func(t *testing.T) {
						t.Parallel()
						r := bootRealISO(t, c.iso, disk)
						lines := strings.Split(strings.ReplaceAll(string(r.Output), "\r", ""), "\n")
						for _, want := range append([]string{"argc=4", "argv[0]=<show>"}, c.want...) {
							if !slices.Contains(lines, want) {
								t.Errorf("no line %q in the output:\n%s\nQEMU: %s", want, r.Output, r.Stderr)
							}
						}
						for _, l := range lines {
							if strings.Contains(l, "T_FROM=initrd") && c.name == "replaced" {
								t.Errorf("the initrd's config ran too: %q", l)
							}
						}
						if r.ExitStatus != c.exit || !r.Halted {
							t.Errorf("exit %d, halted %v; want %d, halted:\n%s", r.ExitStatus, r.Halted, c.exit, r.Output)
						}
					})
				}
			}
		})
	}
}
