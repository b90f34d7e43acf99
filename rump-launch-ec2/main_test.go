package main

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/pkg/awsfake"
	"github.com/rumptools/rumptools/pkg/xl/xltest"
)

type result struct {
	code           int
	stdout, stderr string
}

func ec2(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func needE2fsprogs(t *testing.T) {
	t.Helper()
	for _, p := range []string{"mke2fs", "debugfs"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed (Debian package e2fsprogs)", p)
		}
	}
}

func needGRUB(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("grub-mkimage"); err != nil {
		t.Skip("grub-mkimage not installed (Debian packages grub-pc-bin and grub-common)")
	}
	if _, err := os.Stat("/usr/lib/grub/i386-pc"); err != nil {
		t.Skip("GRUB for i386-pc not installed (Debian package grub-pc-bin)")
	}
}

func xenKernel(t *testing.T) string {
	return xltest.Kernel{Xen: true, Programs: []string{"hello"}}.Write(t, t.TempDir(), "app.bin")
}

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func debugfsCat(t *testing.T, img, path string) string {
	t.Helper()
	out, err := exec.Command("debugfs", "-R", "cat "+path, img).Output()
	if err != nil {
		t.Fatalf("debugfs cat %s: %v", path, err)
	}
	return string(out)
}

func TestHelpAndUsage(t *testing.T) {
	r := ec2(t, "", "-h")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: rump-launch-ec2") || r.stderr != "" {
		t.Errorf("-h: %+v", r)
	}
	k := xenKernel(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "no kernel given"},
		{[]string{"-i", k}, "give -r TYPE"},
		{[]string{"--rm", k}, "give -r TYPE"},
		{[]string{"-o", "x.img", "-r", "m3.medium", k}, "-o writes only the image"},
		{[]string{"--size", "-1", k}, "--size"},
		{[]string{"--bogus", k}, "flag provided but not defined"},
		{[]string{k, "initrd", "extra"}, "program arguments go after --"},
	} {
		r := ec2(t, "", c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || !strings.HasPrefix(r.stderr, "rump-launch-ec2: ") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

func TestRefusals(t *testing.T) {
	srv := awsfake.New(t)
	srv.Env(t)
	k := xenKernel(t)
	hw := xltest.Kernel{Programs: []string{"hello"}}.Write(t, t.TempDir(), "hw.bin")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-r", "c5.large", k}, "runs on the Nitro system, which offers network and storage only as ENA and NVMe devices"},
		{[]string{"-r", "t2.micro", k}, "a paravirtual image (Xen PV kernel) needs a previous-generation type"},
		{[]string{"-r", "m1.small", hw}, "an HVM image (hw kernel) needs"},
		{[]string{"-I", "vioif0", k}, `interface "vioif0" does not exist on ec2: use xenif0`},
		{[]string{"-I", "xenif0=bridge:br0", k}, "no backend to choose"},
		{[]string{k, writeFile(t, "x.initrd", "x")}, "cannot read an initrd"},
		{[]string{"-c", writeFile(t, "hw.cfg", `{"net": [{"if": "wm0", "type": "inet", "method": "dhcp"}]}`), hw}, `hw.cfg:1:17: /net/0/if: interface "wm0" does not exist on EC2 HVM: use no interface`},
		{[]string{"--kernel-id", "aki-1", hw}, "--kernel-id is for Xen PV kernels"},
		{[]string{"--region", "eu-west-2", k}, `region "eu-west-2" has no PV-GRUB kernel`},
		{[]string{"-c", writeFile(t, "bad.cfg", `{"hostnme": "x"}`), k}, "bad.cfg:1:2: "},
		{[]string{writeFile(t, "notelf", "hello")}, "rump-launch-ec2: "},
	} {
		r := ec2(t, "", c.args...)
		if r.code != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want 1 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if n, _ := srv.Stats(); n != 0 {
		t.Errorf("%d requests made by refused runs", n)
	}
}

// TestPVEndToEnd makes a paravirtual image, uploads it, registers it,
// runs an instance and follows its console to the exit status, and checks
// every step on the stand-in service.
func TestPVEndToEnd(t *testing.T) {
	needE2fsprogs(t)
	srv := awsfake.New(t)
	srv.Env(t)
	srv.PendingPolls = 1
	console := "Xen Minimal OS!\r\n=== calling \"hello\" main() ===\nhi\n=== main() of \"hello\" returned 3 ===\n=== _exit(3) called ===\n"
	srv.Console = func(_ string, n int) string {
		if n < 2 {
			return ""
		}
		return console
	}
	k := xenKernel(t)
	cfg := writeFile(t, "json.cfg", `{"env": {"B": "2"}}`)
	args := []string{"-c", cfg, "-N", "probe", "-e", "A=1", "-I", "xenif0", "--poll", "1ms",
		"-r", "m3.medium", "--subnet", "subnet-9", "--security-group", "sg-1", "--security-group", "sg-2", "--key-name", "me", "--rm", "-i",
		k, "--", "two words", "it's ü"}
	r := ec2(t, "", args...)
	if r.code != 3 {
		t.Fatalf("exit %d, want the program's 3\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, v := range srv.Violations() {
		t.Errorf("violation: %s", v)
	}
	images, instances, snaps := srv.Images(), srv.Instances(), srv.Snapshots()
	if len(images) != 1 || len(instances) != 1 || len(snaps) != 1 {
		t.Fatalf("images %v instances %v snapshots %v", images, instances, snaps)
	}
	if want := images[0] + "\n" + instances[0] + "\n" + console; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	if !srv.Instance(instances[0]).Terminated() {
		t.Error("--rm: the instance was not terminated")
	}

	// The snapshot is exactly the image -o writes for the same inputs.
	img := filepath.Join(t.TempDir(), "vol.img")
	if r := ec2(t, "", append([]string{"-o", img}, without(args, "-i", "--rm", "-r", "m3.medium", "--subnet", "subnet-9", "--security-group", "sg-1", "sg-2", "--key-name", "me")...)...); r.code != 0 {
		t.Fatalf("-o: %+v", r)
	}
	sameAsSnapshot(t, img, srv.Snapshot(snaps[0]), 1<<30)
	if z := srv.Snapshot(snaps[0]).ZeroPuts; z != 0 {
		t.Errorf("%d blocks of zeros sent", z)
	}
	if puts := len(srv.CallsTo("PutSnapshotBlock")); puts == 0 || puts > 20 {
		t.Errorf("%d blocks sent for a tiny kernel on a 1 GiB volume", puts)
	}
	wantCfg := `{"hostname":"probe","rc":[{"bin":"hello","argv":["two words","it's ü"]}],"env":"B=2","env":"A=1","net":{"if":"xenif0","cloner":"true","type":"inet","method":"dhcp"}}`
	if got := debugfsCat(t, img, "/json.cfg"); !equalJSONish(got, wantCfg) {
		t.Errorf("/json.cfg = %s\nwant %s", got, wantCfg)
	}
	if got := debugfsCat(t, img, "/boot/grub/menu.lst"); !strings.Contains(got, "title probe\nroot (hd0)\nkernel /boot/kernel _RUMPRUN_ROOTFSCFG=/json.cfg\n") {
		t.Errorf("menu.lst %q", got)
	}

	reg := srv.Image(images[0]).Params
	for key, want := range map[string]string{
		"VirtualizationType": "paravirtual", "KernelId": "aki-5c21674b", "Architecture": "x86_64",
		"RootDeviceName": "/dev/sda1", "BlockDeviceMapping.1.Ebs.SnapshotId": snaps[0],
		"Name": "probe-" + snaps[0], "BlockDeviceMapping.1.Ebs.VolumeType": "gp2",
	} {
		if reg.Get(key) != want {
			t.Errorf("RegisterImage %s = %q, want %q", key, reg.Get(key), want)
		}
	}
	tags := map[string]string{}
	for i := 1; reg.Get("TagSpecification.1.Tag."+itoa(i)+".Key") != ""; i++ {
		tags[reg.Get("TagSpecification.1.Tag."+itoa(i)+".Key")] = reg.Get("TagSpecification.1.Tag." + itoa(i) + ".Value")
	}
	if tags["rumptools:kernel"] != "app.bin" || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(tags["rumptools:kernel-sha256"]) ||
		!strings.Contains(tags["rumptools:bake"], "programs=hello") || tags["Name"] != "probe" {
		t.Errorf("image tags %v", tags)
	}
	run := srv.Instance(instances[0]).Params
	for key, want := range map[string]string{
		"InstanceType": "m3.medium", "SubnetId": "subnet-9", "SecurityGroupId.1": "sg-1", "SecurityGroupId.2": "sg-2",
		"KeyName": "me", "InstanceInitiatedShutdownBehavior": "terminate", "ImageId": images[0],
	} {
		if run.Get(key) != want {
			t.Errorf("RunInstances %s = %q, want %q", key, run.Get(key), want)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// without returns args less the given words.
func without(args []string, drop ...string) []string {
	var out []string
	for _, a := range args {
		keep := true
		for _, d := range drop {
			if a == d {
				keep = false
			}
		}
		if keep {
			out = append(out, a)
		}
	}
	return out
}

// equalJSONish compares wire forms ignoring nothing but a trailing newline.
func equalJSONish(got, want string) bool { return strings.TrimRight(got, "\n") == want }

func TestDryRunTouchesNothing(t *testing.T) {
	srv := awsfake.New(t)
	srv.Env(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	k := xenKernel(t)
	r := ec2(t, "", "-n", "-I", "xenif0", "-r", "t1.micro", "--rm", "-i", k, "--", "x")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	for _, want := range []string{
		"# Root volume: an ext2 file system of 1024 MiB, read by PV-GRUB (hd0) from /dev/sda1:",
		"/boot/kernel",
		"mke2fs -q -F -t ext2",
		"SNAPSHOT_ID=$(aws ebs start-snapshot --region us-east-1 --volume-size 1",
		"--kernel-id aki-5c21674b",
		"--instance-type t1.micro",
		"aws ec2 terminate-instances",
		"BLOCK_N",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("-n output lacks %q:\n%s", want, r.stdout)
		}
	}
	if n, _ := srv.Stats(); n != 0 {
		t.Errorf("-n made %d requests", n)
	}
	out := filepath.Join(t.TempDir(), "never.img")
	if r := ec2(t, "", "-n", "-o", out, k); r.code != 0 || !strings.Contains(r.stdout, "register-image") {
		t.Errorf("-n -o: %+v", r)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("-n wrote the -o file")
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("-n left files in TMPDIR: %v", ents)
	}
	cmd := exec.Command("sh", "-n")
	cmd.Stdin = strings.NewReader(r.stdout)
	if o, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sh -n: %v %s", err, o)
	}
}

func TestOutputToStdout(t *testing.T) {
	needE2fsprogs(t)
	k := xenKernel(t)
	img := filepath.Join(t.TempDir(), "a.img")
	if r := ec2(t, "", "-o", img, k); r.code != 0 || r.stdout != "" {
		t.Fatalf("%+v", r)
	}
	// Hashes, not copies: the volume is 1 GiB.
	h := sha256.New()
	var stderr bytes.Buffer
	code := run([]string{"-o", "-", k}, strings.NewReader(""), h, &stderr)
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hf := sha256.New()
	io.Copy(hf, f)
	if code != 0 || !bytes.Equal(h.Sum(nil), hf.Sum(nil)) {
		t.Errorf("-o - (exit %d, %s) differs from -o FILE", code, stderr.String())
	}
}

// TestHVMImageBootsAsRawDisk writes the HVM image of an hw probe kernel and
// boots it in QEMU as a raw disk, as an EC2 HVM instance's BIOS would.
func TestHVMImageBootsAsRawDisk(t *testing.T) {
	needGRUB(t)
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed (Debian package qemu-system-x86)")
	}
	for _, bits := range []int{64, 32} {
		k := probe.Kernel(t, probe.Flavor{Bits: bits})
		img := filepath.Join(t.TempDir(), "hvm.img")
		r := ec2(t, "", "-o", img, "-N", "hvmprobe", "-e", "X=a,b", k, "--", "probe-exit=5", "two words")
		if r.code != 0 {
			t.Fatalf("%+v", r)
		}
		args := []string{"-accel", "tcg", "-m", "128", "-nodefaults", "-vga", "none", "-display", "none",
			"-serial", "stdio", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
			"-drive", "format=raw,file=" + img}
		res := probe.RunCmd(t, exec.Command("qemu-system-x86_64", args...), 90*time.Second)
		p, err := probe.Parse(bytes.ReplaceAll(res.Output, []byte("\r"), nil))
		if err != nil {
			t.Fatalf("%v\n%s", err, res.Output)
		}
		if p.ExitStatus != 5 || len(p.Modules) != 1 {
			t.Fatalf("%d-bit: exit %d, modules %+v\n%s", bits, p.ExitStatus, p.Modules, res.Output)
		}
		want := `{"hostname":"hvmprobe","rc":[{"bin":"` + filepath.Base(k) + `","argv":["probe-exit=5","two words"]}],"env":"X=a,b"}`
		if string(p.Modules[0].JSON) != want {
			t.Errorf("%d-bit: the kernel's config module is %s\nwant %s", bits, p.Modules[0].JSON, want)
		}
	}
}

// TestHVMUpload uploads an HVM image and checks the snapshot against the
// image -o writes, and the HVM registration.
func TestHVMUpload(t *testing.T) {
	needGRUB(t)
	srv := awsfake.New(t)
	srv.Env(t)
	k := xltest.Kernel{Programs: []string{"hello"}}.Write(t, t.TempDir(), "hw.bin")
	r := ec2(t, "", "--poll", "1ms", "--volume-type", "gp3", k)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	snaps, images := srv.Snapshots(), srv.Images()
	if len(snaps) != 1 || len(images) != 1 || r.stdout != images[0]+"\n" {
		t.Fatalf("snapshots %v images %v stdout %q", snaps, images, r.stdout)
	}
	img := filepath.Join(t.TempDir(), "hvm.img")
	if r := ec2(t, "", "-o", img, k); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	st, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	sn := srv.Snapshot(snaps[0])
	sameAsSnapshot(t, img, sn, st.Size())
	if sn.VolumeSize != 1 {
		t.Errorf("snapshot of %d GiB, want 1", sn.VolumeSize)
	}
	reg := srv.Image(images[0]).Params
	for key, want := range map[string]string{
		"VirtualizationType": "hvm", "BootMode": "legacy-bios", "EnaSupport": "false", "RootDeviceName": "/dev/xvda",
		"BlockDeviceMapping.1.Ebs.VolumeType": "gp3", "KernelId": "",
	} {
		if reg.Get(key) != want {
			t.Errorf("RegisterImage %s = %q, want %q", key, reg.Get(key), want)
		}
	}
	for _, v := range srv.Violations() {
		t.Errorf("violation: %s", v)
	}
}

// sameAsSnapshot compares the first size bytes of the file at path with the
// snapshot, one 512 KiB block at a time: blocks never written are zeros.
func sameAsSnapshot(t *testing.T, path string, sn *awsfake.Snapshot, size int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, awsfake.BlockSize)
	zero := make([]byte, awsfake.BlockSize)
	for i := int64(0); i*awsfake.BlockSize < size; i++ {
		clear(buf)
		if _, err := io.ReadFull(f, buf[:min(awsfake.BlockSize, size-i*awsfake.BlockSize)]); err != nil {
			t.Fatalf("%s: block %d: %v", path, i, err)
		}
		got, ok := sn.Blocks[int32(i)]
		if !ok {
			got = zero
		}
		if !bytes.Equal(got, buf) {
			t.Fatalf("snapshot block %d differs from the image (sent: %v)", i, ok)
		}
	}
	if st, _ := f.Stat(); st.Size() != size {
		t.Errorf("%s has %d bytes, want %d", path, st.Size(), size)
	}
}

func TestDryRunHVM(t *testing.T) {
	needGRUB(t)
	srv := awsfake.New(t)
	srv.Env(t)
	k := xltest.Kernel{Programs: []string{"hello"}}.Write(t, t.TempDir(), "hw.bin")
	r := ec2(t, "", "-n", "-r", "t2.micro", "--region", "eu-west-2", k)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	for _, want := range []string{
		"# Root volume: a hybrid ISO 9660 image of ",
		"/boot/grub/eltorito.img", "/boot/kernel", "/json.cfg",
		"--region eu-west-2",
		"--virtualization-type hvm --boot-mode legacy-bios --no-ena-support --root-device-name /dev/xvda",
		"--instance-type t2.micro",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("-n output lacks %q:\n%s", want, r.stdout)
		}
	}
	if n, _ := srv.Stats(); n != 0 {
		t.Errorf("-n made %d requests", n)
	}
}
