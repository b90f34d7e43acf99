package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/internal/realkernel"
	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/kernel"
	"github.com/rumptools/rumptools/pkg/xl"
	"github.com/rumptools/rumptools/pkg/xl/xltest"
)

// These tests launch real rumprun kernels, baked by rump-bake from
// testdata/real/show.c, through the stand-in xl: no hypervisor runs here.

func TestMain(m *testing.M) { os.Exit(realkernel.Main(m)) }

// A xen_pv kernel from the real Xen toolchain is started as a PV domain:
// the xl config libxlutil reads names it, its vif and its etfs disk, and
// the wire form written to xenstore carries argv, environment, hostname,
// the interface (with "cloner") and the disk.
func TestRealPV(t *testing.T) {
	k := realkernel.Xen(t).ShowKernel(t)
	f := setup(t)
	r := start(t, "", "-s", f.state, "-N", "pv-host", "-M", "96", "-I", "xenif0=bridge:br1", "-b", f.disk+",/data",
		"-e", "T_ENV=a b", k, "--", "two words", "ünï,cødé", "exit:4")
	if r.code != 0 || r.stdout != "xen:pv-host\n" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	calls := f.ts.Calls()
	if len(calls) != 4 || calls[2][0] != "xenstore-write" || len(calls[2]) != 3 {
		t.Fatalf("calls:\n%s", show(calls))
	}
	c, _, err := config.Parse("xenstore", []byte(unsanitise(calls[2][2])))
	if err != nil {
		t.Fatalf("the config written to xenstore does not parse: %v\n%s", err, calls[2][2])
	}
	if len(c.RC) != 1 || c.RC[0].Bin != "show" || !slices.Equal(c.RC[0].Argv, []string{"two words", "ünï,cødé", "exit:4"}) {
		t.Errorf("rc %+v: want show, from the kernel's bake record, with the arguments", c.RC)
	}
	if c.Hostname != "pv-host" || len(c.Env) != 1 || c.Env[0] != (config.EnvVar{Name: "T_ENV", Value: "a b"}) {
		t.Errorf("hostname %q, env %+v", c.Hostname, c.Env)
	}
	if len(c.Net) != 1 || c.Net[0] != (config.Net{If: "xenif0", Cloner: true, Type: "inet", Method: "dhcp"}) {
		t.Errorf("net %+v", c.Net)
	}
	if len(c.Blk) != 1 || c.Blk[0] != (config.Blk{Source: "etfs", Path: "xvda", Fstype: "blk", Mountpoint: "/data"}) {
		t.Errorf("blk %+v", c.Blk)
	}
	abs, _ := filepath.Abs(k)
	got := xltest.Read(t, filepath.Join(f.state, "pv-host.cfg"), "type", "kernel", "memory", "vif", "disk", "cmdline", "ramdisk")
	for key, want := range map[string]xl.Value{
		"type": xl.String("pv"), "kernel": xl.String(abs), "memory": xl.String("96"),
		"disk": xl.Strings("format=raw,vdev=xvda,access=rw,target=" + f.disk),
	} {
		if !got[key].Equal(want) {
			t.Errorf("%s = %s, want %s", key, xltest.Show(got[key]), xltest.Show(want))
		}
	}
	if len(got["vif"].List) != 1 || !strings.HasPrefix(got["vif"].List[0].S, "bridge=br1,mac=") {
		t.Errorf("vif = %s", xltest.Show(got["vif"]))
	}
	if _, ok := got["cmdline"]; ok {
		t.Errorf("cmdline = %s: the config goes to xenstore", xltest.Show(got["cmdline"]))
	}
}

// An hw kernel runs as an HVM guest with direct kernel boot: the device
// model (QEMU) boots it with the xl config's cmdline as the multiboot
// command line. Booted that way in QEMU, the real kernel's program gets
// the argv, environment and hostname given to the launcher.
func TestRealHVM(t *testing.T) {
	k := realkernel.HW(t).ShowKernel(t)
	f := setup(t)
	r := start(t, "", "-s", f.state, "-N", "hvm-host", "-I", "wm0", "-e", "T_ENV=x,y z", k, "--", "it's", "ifaddrs", "exit:6")
	if r.code != 0 || r.stdout != "xen:hvm-host\n" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	file := filepath.Join(f.state, "hvm-host.cfg")
	if got := show(f.ts.Calls()); got != "xl create -p "+file+"\nxl unpause hvm-host" {
		t.Errorf("calls:\n%s", got)
	}
	abs, _ := filepath.Abs(k)
	got := xltest.Read(t, file, "type", "kernel", "cmdline", "vif", "serial")
	if got["type"].S != "hvm" || got["kernel"].S != abs || got["serial"].S != "pty" ||
		len(got["vif"].List) != 1 || !strings.HasPrefix(got["vif"].List[0].S, "model=e1000,bridge=xenbr0,mac=") {
		t.Errorf("xl reads type %s kernel %s serial %s vif %s", xltest.Show(got["type"]), xltest.Show(got["kernel"]),
			xltest.Show(got["serial"]), xltest.Show(got["vif"]))
	}
	// No Xen here: QEMU stands for the device model, with an e1000 on
	// QEMU's own user network for wm0 (its DHCP server is inside QEMU).
	// The config starts at the first brace (an initrd/1 kernel takes words
	// before it).
	cmdline := got["cmdline"].S
	c, _, err := config.Parse("cmdline", []byte(cmdline[max(strings.IndexByte(cmdline, '{'), 0):]))
	if err != nil {
		t.Fatalf("cmdline %s: %v", got["cmdline"].S, err)
	}
	// Today's kernels get DHCP on wm0 written out; an initrd/1 kernel
	// applies that default itself.
	info, err := kernel.Options{NoToolchain: true}.Open(k)
	if err != nil {
		t.Fatal(err)
	}
	if info.Supports("initrd/1") {
		if c.Net != nil {
			t.Errorf("net %+v written for a kernel that applies the default itself", c.Net)
		}
	} else if len(c.Net) != 1 || c.Net[0] != (config.Net{If: "wm0", Type: "inet", Method: "dhcp"}) {
		t.Errorf("net %+v", c.Net)
	}
	res := probe.Boot(t, probe.BootOptions{Kernel: k, Append: got["cmdline"].S, Memory: 256,
		ExtraArgs: []string{"-netdev", "user,id=n0,restrict=on", "-device", "e1000,netdev=n0"}})
	lines := strings.Split(strings.ReplaceAll(string(res.Output), "\r", ""), "\n")
	for _, want := range []string{"argc=4", "argv[0]=<show>", "argv[1]=<it's>", "argv[2]=<ifaddrs>", "argv[3]=<exit:6>",
		"env <T_ENV=x,y z>", "hostname=<hvm-host>", "ifaddr wm0 10.0.2.15"} {
		if !slices.Contains(lines, want) {
			t.Errorf("no line %q in the output:\n%s", want, res.Output)
		}
	}
	if res.ExitStatus != 6 {
		t.Errorf("exit %d, want 6", res.ExitStatus)
	}
}
