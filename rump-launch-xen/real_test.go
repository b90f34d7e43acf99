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
	"github.com/rumptools/rumptools/pkg/launch"
	"github.com/rumptools/rumptools/pkg/xl"
	"github.com/rumptools/rumptools/pkg/xl/xltest"
)

// These tests launch real rumprun kernels, baked by rump-bake from
// testdata/real/show.c, through the stand-in xl: no hypervisor runs here.

func TestMain(m *testing.M) { os.Exit(realkernel.Main(m)) }

// A xen_pv kernel from the real Xen toolchain is started as a PV domain:
// the xl config libxlutil reads names it, its vif and its etfs disk, and
// the config written to xenstore carries argv, environment, hostname and
// the disk. Today's kernel (--protocol rumprun) gets the wire form with
// the interface (and "cloner"); the initrd/1 kernel rump-bake makes by
// default gets the canonical form after the word that says so, and its
// initrd as the ramdisk, and applies DHCP itself.
func TestRealPV(t *testing.T) {
	for _, c := range []struct {
		name string
		bake []string
	}{{"rumprun", []string{"--protocol", "rumprun"}}, {"initrd/1", nil}} {
		t.Run(c.name, func(t *testing.T) {
			k := realkernel.Xen(t).ShowKernel(t, c.bake...)
			info, err := kernel.Options{NoToolchain: true}.Open(k)
			if err != nil {
				t.Fatal(err)
			}
			if info.Supports("initrd/1") != (c.bake == nil) {
				t.Fatalf("%s: protocols %v", k, info.Protocols)
			}
			f := setup(t)
			args := []string{"-s", f.state, "-N", "pv-host", "-M", "96", "-I", "xenif0=bridge:br1", "-b", f.disk + ",/data",
				"-e", "T_ENV=a b", k}
			var rd string
			if c.bake == nil {
				rd = filepath.Join(t.TempDir(), "root.img")
				if err := os.WriteFile(rd, emptyNewc(), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, rd)
			}
			r := start(t, "", append(args, "--", "two words", "ünï,cødé", "exit:4")...)
			if r.code != 0 || r.stdout != "xen:pv-host\n" {
				t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
			}
			calls := f.ts.Calls()
			if len(calls) != 4 || calls[2][0] != "xenstore-write" || len(calls[2]) != 3 {
				t.Fatalf("calls:\n%s", show(calls))
			}
			text := unsanitise(calls[2][2])
			if c.bake == nil {
				var ok bool
				if text, ok = strings.CutPrefix(text, launch.WordCanonical+" "); !ok {
					t.Errorf("the xenstore config does not start with %s: %s", launch.WordCanonical, text)
				}
			}
			cfg, _, err := config.Parse("xenstore", []byte(text))
			if err != nil {
				t.Fatalf("the config written to xenstore does not parse: %v\n%s", err, calls[2][2])
			}
			if len(cfg.RC) != 1 || cfg.RC[0].Bin != "show" || !slices.Equal(cfg.RC[0].Argv, []string{"two words", "ünï,cødé", "exit:4"}) {
				t.Errorf("rc %+v: want show, from the kernel's bake record, with the arguments", cfg.RC)
			}
			if cfg.Hostname != "pv-host" || len(cfg.Env) != 1 || cfg.Env[0] != (config.EnvVar{Name: "T_ENV", Value: "a b"}) {
				t.Errorf("hostname %q, env %+v", cfg.Hostname, cfg.Env)
			}
			if c.bake == nil {
				if cfg.Net != nil {
					t.Errorf("net %+v written for a kernel that applies the default itself", cfg.Net)
				}
			} else if len(cfg.Net) != 1 || cfg.Net[0] != (config.Net{If: "xenif0", Cloner: true, Type: "inet", Method: "dhcp"}) {
				t.Errorf("net %+v", cfg.Net)
			}
			if len(cfg.Blk) != 1 || cfg.Blk[0] != (config.Blk{Source: "etfs", Path: "xvda", Fstype: "blk", Mountpoint: "/data"}) {
				t.Errorf("blk %+v", cfg.Blk)
			}
			abs, _ := filepath.Abs(k)
			got := xltest.Read(t, filepath.Join(f.state, "pv-host.cfg"), "type", "kernel", "memory", "vif", "disk", "cmdline", "ramdisk")
			want := map[string]xl.Value{
				"type": xl.String("pv"), "kernel": xl.String(abs), "memory": xl.String("96"),
				"disk": xl.Strings("format=raw,vdev=xvda,access=rw,target=" + f.disk),
			}
			if rd != "" {
				want["ramdisk"] = xl.String(rd)
			} else if _, ok := got["ramdisk"]; ok {
				t.Errorf("ramdisk = %s for today's kernel", xltest.Show(got["ramdisk"]))
			}
			for key, w := range want {
				if !got[key].Equal(w) {
					t.Errorf("%s = %s, want %s", key, xltest.Show(got[key]), xltest.Show(w))
				}
			}
			if len(got["vif"].List) != 1 || !strings.HasPrefix(got["vif"].List[0].S, "bridge=br1,mac=") {
				t.Errorf("vif = %s", xltest.Show(got["vif"]))
			}
			if _, ok := got["cmdline"]; ok {
				t.Errorf("cmdline = %s: the config goes to xenstore", xltest.Show(got["cmdline"]))
			}
		})
	}
}

// emptyNewc is a newc archive with only its trailer.
func emptyNewc() []byte {
	h := "070701" + strings.Repeat("00000000", 11) + "0000000b" + "00000000" + "TRAILER!!!\x00"
	for len(h)%4 != 0 {
		h += "\x00"
	}
	return []byte(h)
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
