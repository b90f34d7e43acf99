package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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
	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/kernel"
)

// These tests make EC2 images of real rumprun kernels, baked by rump-bake
// from testdata/real/show.c, and upload them to the local AWS fake; what
// they check is what the fake received.

func TestMain(m *testing.M) { os.Exit(realkernel.Main(m)) }

// volumeFile writes the volume a snapshot holds to a sparse file: blocks
// never written are holes, which read as zeros as on EBS.
func volumeFile(t *testing.T, sn *awsfake.Snapshot) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), sn.ID+".img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i, b := range sn.Blocks {
		if _, err := f.WriteAt(b, int64(i)*awsfake.BlockSize); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(sn.VolumeSize << 30); err != nil {
		t.Fatal(err)
	}
	return p
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// A xen_pv kernel from the real Xen toolchain becomes a paravirtual image:
// the uploaded ext2 volume holds the kernel byte for byte, PV-GRUB's
// menu.lst and the wire-form config, and the image is registered for
// PV-GRUB with the kernel's bake record in its tags.
func TestRealPV(t *testing.T) {
	k := realkernel.Xen(t).ShowKernel(t)
	needE2fsprogs(t)
	srv := awsfake.New(t)
	srv.Env(t)
	r := ec2(t, "", "-N", "pvshow", "-I", "xenif0", "-e", "T_ENV=a b", "--poll", "1ms", k, "--", "two words", "exit:2")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, v := range srv.Violations() {
		t.Errorf("violation: %s", v)
	}
	snaps, images := srv.Snapshots(), srv.Images()
	if len(snaps) != 1 || len(images) != 1 || r.stdout != images[0]+"\n" {
		t.Fatalf("snapshots %v, images %v, stdout %q", snaps, images, r.stdout)
	}
	vol := volumeFile(t, srv.Snapshot(snaps[0]))

	kernelCopy := filepath.Join(t.TempDir(), "kernel")
	if out, err := exec.Command("debugfs", "-R", "dump /boot/kernel "+kernelCopy, vol).CombinedOutput(); err != nil {
		t.Fatalf("debugfs dump: %v\n%s", err, out)
	}
	if got, want := sha256File(t, kernelCopy), sha256File(t, k); got != want {
		t.Errorf("/boot/kernel on the volume has sha256 %s, the kernel %s", got, want)
	}
	// rump-bake's Xen kernels speak initrd/1: the config is in
	// /boot/initrd, PV-GRUB's ramdisk (read here by GNU cpio), and the
	// kernel applies the DHCP default itself; older kernels read the wire
	// form from /json.cfg.
	info, err := kernel.Options{NoToolchain: true}.Open(k)
	if err != nil {
		t.Fatal(err)
	}
	rd := info.Supports("initrd/1")
	menu, cfgText := "kernel /boot/kernel _RUMPRUN_ROOTFSCFG=/json.cfg\n", []byte(nil)
	if rd {
		menu = "kernel /boot/kernel\ninitrd /boot/initrd\n"
		cmd := exec.Command("cpio", "-i", "--quiet", "--to-stdout", "json.cfg")
		cmd.Stdin = bytes.NewReader(debugfsDump(t, vol, "/boot/initrd"))
		if cfgText, err = cmd.Output(); err != nil {
			t.Fatalf("cpio: %v", err)
		}
	} else {
		cfgText = []byte(debugfsCat(t, vol, "/json.cfg"))
	}
	if got := debugfsCat(t, vol, "/boot/grub/menu.lst"); !strings.Contains(got, "title pvshow\nroot (hd0)\n"+menu) {
		t.Errorf("menu.lst %q", got)
	}
	c, _, err := config.Parse("json.cfg", cfgText)
	if err != nil {
		t.Fatalf("the config on the volume: %v", err)
	}
	if c.Hostname != "pvshow" || len(c.RC) != 1 || c.RC[0].Bin != "show" || !slices.Equal(c.RC[0].Argv, []string{"two words", "exit:2"}) ||
		len(c.Env) != 1 || c.Env[0] != (config.EnvVar{Name: "T_ENV", Value: "a b"}) {
		t.Errorf("/json.cfg: hostname %q, rc %+v, env %+v", c.Hostname, c.RC, c.Env)
	}
	if rd && c.Net != nil {
		t.Errorf("net %+v written for a kernel that applies the default itself", c.Net)
	} else if !rd && (len(c.Net) != 1 || c.Net[0] != (config.Net{If: "xenif0", Cloner: true, Type: "inet", Method: "dhcp"})) {
		t.Errorf("/json.cfg: net %+v", c.Net)
	}

	reg := srv.Image(images[0]).Params
	for key, want := range map[string]string{
		"VirtualizationType": "paravirtual", "Architecture": "x86_64", "RootDeviceName": "/dev/sda1",
		"BlockDeviceMapping.1.Ebs.SnapshotId": snaps[0],
	} {
		if reg.Get(key) != want {
			t.Errorf("RegisterImage %s = %q, want %q", key, reg.Get(key), want)
		}
	}
	if !strings.HasPrefix(reg.Get("KernelId"), "aki-") {
		t.Errorf("RegisterImage KernelId = %q, want PV-GRUB's aki-", reg.Get("KernelId"))
	}
	tags := map[string]string{}
	for i := 1; reg.Get("TagSpecification.1.Tag."+itoa(i)+".Key") != ""; i++ {
		tags[reg.Get("TagSpecification.1.Tag."+itoa(i)+".Key")] = reg.Get("TagSpecification.1.Tag." + itoa(i) + ".Value")
	}
	if tags["rumptools:kernel-sha256"] != sha256File(t, k) || !strings.Contains(tags["rumptools:bake"], "programs=show") ||
		!strings.Contains(tags["rumptools:bake"], "xen_pv") {
		t.Errorf("image tags %v", tags)
	}
}

// An hw kernel becomes an HVM image: the uploaded volume is a hybrid ISO
// that boots the real kernel as a raw disk, as an EC2 HVM instance's BIOS
// would, and its program gets the argv, environment and hostname given.
func TestRealHVM(t *testing.T) {
	k := realkernel.HW(t).ShowKernel(t)
	needGRUB(t)
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed (Debian package qemu-system-x86)")
	}
	srv := awsfake.New(t)
	srv.Env(t)
	r := ec2(t, "", "-N", "hvmshow", "-e", "T_ENV=x,y", "--poll", "1ms", k, "--", "it's", "exit:7")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, v := range srv.Violations() {
		t.Errorf("violation: %s", v)
	}
	snaps, images := srv.Snapshots(), srv.Images()
	if len(snaps) != 1 || len(images) != 1 {
		t.Fatalf("snapshots %v, images %v", snaps, images)
	}
	if reg := srv.Image(images[0]).Params; reg.Get("VirtualizationType") != "hvm" || reg.Get("BootMode") != "legacy-bios" {
		t.Errorf("RegisterImage %v", reg)
	}
	vol := volumeFile(t, srv.Snapshot(snaps[0]))
	args := []string{"-accel", "tcg", "-m", "256", "-nodefaults", "-vga", "none", "-display", "none",
		"-serial", "stdio", "-no-reboot", "-net", "none", "-drive", "format=raw,file=" + vol}
	res := probe.RunCmd(t, exec.Command("qemu-system-x86_64", args...), 3*time.Minute)
	lines := strings.Split(string(bytes.ReplaceAll(res.Output, []byte("\r"), nil)), "\n")
	for _, want := range []string{"argc=3", "argv[0]=<show>", "argv[1]=<it's>", "argv[2]=<exit:7>", "env <T_ENV=x,y>", "hostname=<hvmshow>"} {
		if !slices.Contains(lines, want) {
			t.Errorf("no line %q in the output:\n%s\nQEMU: %s", want, res.Output, res.Stderr)
		}
	}
	if !slices.Equal(res.Calls, []probe.Call{{Name: "show", Returned: 7}}) || res.ExitStatus != 7 || !res.Halted {
		t.Errorf("calls %+v, exit %d, halted %v", res.Calls, res.ExitStatus, res.Halted)
	}
}
