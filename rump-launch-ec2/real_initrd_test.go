package main

import (
	"bytes"
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
	"github.com/rumptools/rumptools/pkg/awsfake"
)

// An hw initrd/1 kernel with an initrd becomes an HVM image whose ISO
// carries the initrd as GRUB's first module: the -n plan lists it, and the
// uploaded volume boots the real kernel as a raw disk, whose program reads
// a file of the initrd, with the replacement config made of the initrd's
// /json.cfg, -N and the program arguments.
func TestRealHVMInitrd(t *testing.T) {
	k := realkernel.HW(t).ShowKernel(t)
	needGRUB(t)
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed (Debian package qemu-system-x86)")
	}
	mkrd := realkernel.Tool(t, "rump-initrd")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	data := []byte(strings.Repeat("EC2 initrd data\n", 4000))
	if err := os.MkdirAll(filepath.Join(root, "srv"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "srv", "data.txt"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "cfg.json")
	if err := os.WriteFile(cfg, []byte(`{"rc": [{"bin": "show", "argv": ["own"]}], "env": {"T_FROM": "initrd"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	rd := filepath.Join(dir, "show.initrd")
	if out, err := exec.Command(mkrd, "-z", "-c", cfg, "-o", rd, root).CombinedOutput(); err != nil {
		t.Fatalf("rump-initrd: %v\n%s", err, out)
	}
	rdInfo, err := os.Stat(rd)
	if err != nil {
		t.Fatal(err)
	}

	srv := awsfake.New(t)
	srv.Env(t)
	args := []string{"-N", "hvmrd", "--poll", "1ms", k, rd, "--", "it's", "cat:/srv/data.txt", "exit:7"}
	plan := ec2(t, "", append([]string{"-n"}, args...)...)
	if plan.code != 0 {
		t.Fatalf("-n: exit %d\n%s", plan.code, plan.stderr)
	}
	// The module is the initrd, with the replacement config appended.
	var module int64 = -1
	for _, l := range strings.Split(plan.stdout, "\n") {
		if f := strings.Fields(l); len(f) >= 4 && f[0] == "#" && f[1] == "/boot/initrd" {
			fmt.Sscan(f[2], &module)
			if !strings.HasSuffix(l, "bytes  ("+rd+", then the config replacing its /json.cfg)") {
				t.Errorf("-n: %q does not name the initrd and the config", l)
			}
		}
	}
	if module <= rdInfo.Size() {
		t.Errorf("-n lists /boot/initrd of %d bytes, want more than the initrd's %d:\n%s", module, rdInfo.Size(), plan.stdout)
	}
	if len(srv.Snapshots()) != 0 {
		t.Fatalf("-n uploaded %v", srv.Snapshots())
	}

	r := ec2(t, "", args...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	snaps := srv.Snapshots()
	if len(snaps) != 1 {
		t.Fatalf("snapshots %v", snaps)
	}
	vol := volumeFile(t, srv.Snapshot(snaps[0]))
	qargs := []string{"-accel", "tcg", "-m", "256", "-nodefaults", "-vga", "none", "-display", "none",
		"-serial", "stdio", "-no-reboot", "-net", "none", "-drive", "format=raw,file=" + vol}
	res := probe.RunCmd(t, exec.Command("qemu-system-x86_64", qargs...), 3*time.Minute)
	lines := strings.Split(string(bytes.ReplaceAll(res.Output, []byte("\r"), nil)), "\n")
	file := fmt.Sprintf("file /srv/data.txt size=%d crc32=%08x mode=100644", len(data), crc32.ChecksumIEEE(data))
	for _, want := range []string{"argc=4", "argv[0]=<show>", "argv[1]=<it's>", file, "env <T_FROM=initrd>", "hostname=<hvmrd>"} {
		if !slices.Contains(lines, want) {
			t.Errorf("no line %q in the output:\n%s\nQEMU: %s", want, res.Output, res.Stderr)
		}
	}
	if res.ExitStatus != 7 || !res.Halted {
		t.Errorf("exit %d, halted %v", res.ExitStatus, res.Halted)
	}
}
