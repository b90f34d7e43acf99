package main

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/internal/realkernel"
)

// These tests boot real rumprun kernels, baked by rump-bake from
// testdata/real/show.c with the toolchain RUMPRUN_TOOLCHAIN names.

// wantLines fails the test for every line of want that the kernel's
// output lacks.
func wantLines(t *testing.T, r *probe.Result, want ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(strings.ReplaceAll(string(r.Output), "\r", ""), "\n") {
		have[l] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("no line %q in the output:\n%s", w, r.Output)
		}
	}
}

// The program receives argv, environment and hostname exactly as given,
// and the launcher exits with its status, with the config on the command
// line, as a module, and through the plain QEMU command of -n.
func TestRealArgvEnvHostnameExit(t *testing.T) {
	// Today's kernel (--protocol rumprun): the wire form, as a module too. The
	// initrd/1 kernels rump-bake makes by default have tests of their own
	// (pkg/bake/kside).
	k := realkernel.HW(t).ShowKernel(t, "--protocol", "rumprun")
	args := []string{"-N", "host-1", "-e", "T_SPACE=a b  c", "-e", "T_UTF8=grüße, 世界",
		k, "--", "two words", "it's", "ünï,cødé", "exit:5"}
	want := []string{"argv[1]=<two words>", "argv[2]=<it's>", "argv[3]=<ünï,cødé>", "argv[4]=<exit:5>",
		"env <T_SPACE=a b  c>", "env <T_UTF8=grüße, 世界>", "hostname=<host-1>"}
	for _, via := range []string{"cmdline", "module"} {
		t.Run(via, func(t *testing.T) {
			r := boot(t, append([]string{"--config-via", via}, args...)...)
			wantLines(t, r, want...)
			if r.ProcessExit != 5 || r.ExitStatus != 5 {
				t.Errorf("exit: launcher %d, kernel %d; want 5", r.ProcessExit, r.ExitStatus)
			}
		})
	}
	t.Run("-n", func(t *testing.T) {
		script, stderr, code := runCLI(t, nil, append([]string{"-n", "--accel", "tcg"}, args...)...)
		if code != 0 {
			t.Fatalf("-n: exit %d: %s", code, stderr)
		}
		r := probe.Run(t, "sh", "-c", script)
		wantLines(t, r, want...)
		if r.ExitStatus != 5 {
			t.Errorf("kernel exit %d, want 5", r.ExitStatus)
		}
	})
	// Today's kernels would receive a double quote as the JSON escape: the
	// launcher refuses it instead of booting something else.
	if _, stderr, code := runCLI(t, nil, "-n", k, "--", `say "hi"`); code != 1 ||
		!strings.Contains(stderr, "not representable in the wire form") {
		t.Errorf(`argv with '"': exit %d, %s`, code, stderr)
	}
}

// A disk given with -b is mounted at /mnt/ld0a with its file system type
// found, read-only for an ISO, without any blk in the config.
func TestRealDiskMounted(t *testing.T) {
	k := realkernel.HW(t).ShowKernel(t)
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	data := bytes.Repeat([]byte("rumprun disk\n"), 5000)
	if err := os.MkdirAll(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "data.txt"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	ext2 := filepath.Join(dir, "disk.ext2")
	iso := filepath.Join(dir, "disk.iso")
	for _, c := range [][]string{
		{"mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-d", tree, ext2, "4M"},
		{"xorriso", "-as", "mkisofs", "-quiet", "-R", "-o", iso, tree},
	} {
		if _, err := exec.LookPath(c[0]); err != nil {
			t.Skipf("%s not found (Debian: e2fsprogs, xorriso)", c[0])
		}
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", c[0], err, out)
		}
	}
	file := fmt.Sprintf("size=%d crc32=%08x", len(data), crc32.ChecksumIEEE(data))
	r := boot(t, "-b", ext2, "-b", iso+",/iso", k, "--", "mounts", "cat:/mnt/ld0a/data.txt", "cat:/iso/data.txt")
	wantLines(t, r,
		"mount </mnt/ld0a> from </dev/ld0a> type <ext2fs>",
		"mount </iso> from </dev/ld1a> type <cd9660> ro",
		"file /mnt/ld0a/data.txt "+file+" mode=100644",
		"file /iso/data.txt "+file+" mode=100644")
}

// A NIC given with -I and no net in the config gets its address by DHCP:
// the program serves TCP through QEMU's user network and a loopback
// hostfwd.
func TestRealDHCP(t *testing.T) {
	k := realkernel.HW(t).ShowKernel(t)
	port := freePort(t)
	cmd := exec.Command(bin, "--accel", "tcg", "-I",
		fmt.Sprintf("vioif0=user,hostfwd=tcp:127.0.0.1:%d-:8080", port), k, "--", "ifaddrs", "tcp:8080")
	stop := make(chan struct{})
	answer := realkernel.AskTCP(port, stop)
	r := probe.RunCmd(t, cmd, 0)
	close(stop)
	got := <-answer
	if got != "hello from show\n" {
		t.Fatalf("answer %q\n%s", got, r.Output)
	}
	wantLines(t, r, "ifaddr vioif0 10.0.2.15", "served")
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
