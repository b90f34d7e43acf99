package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/internal/realkernel"
	"github.com/rumptools/rumptools/pkg/kernel"
)

func TestMain(m *testing.M) { os.Exit(realkernel.Main(m)) }

// TestRealKernelAnswersTCP takes testdata/real/show.c baked by rump-bake
// into a real rumprun hw kernel, makes its archive with -o, extracts it with
// GNU tar and boots disk.raw in QEMU as Compute Engine presents it: a raw
// virtio disk under SeaBIOS, one virtio-net NIC. The kernel gets its
// address by DHCP (the launcher's default for vioif0), and answers a TCP
// connection from the test through the NIC.
func TestRealKernelAnswersTCP(t *testing.T) {
	tc := realkernel.HW(t)
	needGRUB(t)
	needQEMU(t)
	tarProg := needGNUTar(t)
	dir := t.TempDir()
	bin := tc.ShowKernel(t)
	k, err := kernel.Options{NoToolchain: true}.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kernel: %s, protocols %q", k.Bake.Config, k.Protocols)

	const guestPort = 8080
	disk := extract(t, tarProg, dir, archiveOf(t, "-N", "gcereal", bin, "--", "ifaddrs", fmt.Sprintf("tcp:%d", guestPort)))

	// A free port on the host for QEMU's forward to the guest.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hostPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	qemu := exec.Command("qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-vga", "none", "-display", "none",
		"-serial", "stdio", "-no-reboot", "-drive", "file="+disk+",format=raw,if=virtio",
		"-netdev", fmt.Sprintf("user,id=n,hostfwd=tcp:127.0.0.1:%d-:%d", hostPort, guestPort),
		"-device", "virtio-net-pci,netdev=n")

	// QEMU accepts the connection at once and drops it while nothing
	// listens in the guest: try again until the guest answers or QEMU
	// has ended.
	stop := make(chan struct{})
	got := realkernel.AskTCP(hostPort, stop)
	res := probe.RunCmd(t, qemu, 5*time.Minute)
	close(stop)
	answer := <-got
	out := string(res.Output)
	if answer != "hello from show\n" {
		t.Errorf("the guest answered %q, want \"hello from show\\n\"", answer)
	}
	for _, want := range []string{"hostname=<gcereal>", "ifaddr vioif0 10.0.2.15", "served", `=== main() of "show" returned 0 ===`} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("console:\n%s", out)
	}
}
