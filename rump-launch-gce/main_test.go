package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/pkg/gcefake"
	"github.com/rumptools/rumptools/pkg/initrd"
	"github.com/rumptools/rumptools/pkg/xl/xltest"
)

type result struct {
	code           int
	stdout, stderr string
}

func gce(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

var where = []string{"--project", "my-project", "--zone", "us-central1-a", "--bucket", "my-bucket", "--poll", "1ms"}

func args(extra ...string) []string { return append(append([]string{}, where...), extra...) }

func needGRUB(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("grub-mkimage"); err != nil {
		t.Skip("grub-mkimage not installed (Debian packages grub-pc-bin and grub-common)")
	}
	if _, err := os.Stat("/usr/lib/grub/i386-pc"); err != nil {
		t.Skip("GRUB for i386-pc not installed (Debian package grub-pc-bin)")
	}
}

func hwKernel(t *testing.T, programs ...string) string {
	t.Helper()
	return xltest.Kernel{Programs: programs}.Write(t, t.TempDir(), "app.bin")
}

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func noViolations(t *testing.T, srv *gcefake.Server) {
	t.Helper()
	for _, v := range srv.Violations() {
		t.Errorf("violation: %s", v)
	}
}

// ops returns the operations the server saw, without the token requests.
func ops(srv *gcefake.Server) []string {
	var out []string
	for _, c := range srv.Calls() {
		if c.Op != "token" {
			out = append(out, c.Op)
		}
	}
	return out
}

func TestHelpAndUsage(t *testing.T) {
	r := gce(t, "", "-h")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: rump-launch-gce") || r.stderr != "" {
		t.Errorf("-h: %+v", r)
	}
	k := hwKernel(t, "app")
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "no kernel given"},
		{[]string{k}, "give --project, --zone and --bucket"},
		{[]string{"-n", "--project", "p", k}, "give --project, --zone and --bucket"},
		{args("--rm", k), "--rm removes the instance once its program has exited: give -i"},
		{args("-i", "--rm-image", k), "give --rm too"},
		{[]string{"-o", "x.tar.gz", "-i", k}, "-o writes only the archive"},
		{args("--poll", "0s", k), "--poll"},
		{args("--bogus", k), "flag provided but not defined"},
		{args(k, "initrd", "extra"), "program arguments go after --"},
	} {
		r := gce(t, "", c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || !strings.HasPrefix(r.stderr, "rump-launch-gce: ") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

func TestRefusals(t *testing.T) {
	needGRUB(t)
	srv := gcefake.New(t)
	srv.Env(t)
	k := hwKernel(t, "app")
	xen := xltest.Kernel{Xen: true, Programs: []string{"app"}}.Write(t, t.TempDir(), "xen.bin")
	for _, c := range []struct {
		args []string
		want string
	}{
		{args(xen), "a Xen PV kernel cannot run on Compute Engine, which runs KVM"},
		{args("-I", "xenif0", k), `-I xenif0: interface "xenif0" does not exist on GCE: use vioif0 (the instance's virtio-net NIC)`},
		{args("-I", "wm0", k), `interface "wm0" does not exist on GCE: use vioif0`},
		{args("-I", "vioif0=user,hostfwd=tcp::80-:80", k), "no backend to choose (write -I vioif0)"},
		{args("-c", writeFile(t, "n.cfg", `{"net": [{"if": "xenif0", "cloner": true, "type": "inet", "method": "dhcp"}]}`), k),
			`n.cfg:1:17: /net/0/if: interface "xenif0" does not exist on GCE: use vioif0`},
		{args("-c", writeFile(t, "b.cfg", `{"blk": {"source": "dev", "path": "/dev/ld0a", "fstype": "blk", "mountpoint": "/d"}}`), k),
			`b.cfg:1:35: /blk/0/path: device "/dev/ld0a" does not exist on GCE: no disk is attached on GCE`},
		{args(k, writeFile(t, "x.initrd", "x")), "cannot read an initrd: it does not declare the initrd/1 boot protocol"},
		{args("--machine-type", "c3-standard-4", k), "offers network only as gVNIC"},
		{args("--machine-type", "t2a-standard-1", k), "has Arm CPUs"},
		{[]string{"--project", "P", "--zone", "us-central1-a", "--bucket", "b", k}, `project "P"`},
		{[]string{"--project", "my-project", "--zone", "us-central1-a", "--bucket", "gs://b", k}, `bucket "gs://b"`},
		{args("-c", writeFile(t, "bad.cfg", `{"hostnme": "x"}`), k), "bad.cfg:1:2: "},
		{args(writeFile(t, "notelf", "hello")), "rump-launch-gce: "},
	} {
		r := gce(t, "", c.args...)
		if r.code != 1 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want 1 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if n, _ := srv.Stats(); n != 0 {
		t.Errorf("refused runs made %d requests", n)
	}
}

// archiveOf returns what -o - writes for args.
func archiveOf(t *testing.T, a ...string) []byte {
	t.Helper()
	r := gce(t, "", append([]string{"-o", "-"}, a...)...)
	if r.code != 0 {
		t.Fatalf("-o -: %+v", r)
	}
	return []byte(r.stdout)
}

func TestReproducibleArchive(t *testing.T) {
	needGRUB(t)
	k := hwKernel(t, "app")
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	a := archiveOf(t, "-N", "web", k, "--", "x")
	if b := archiveOf(t, "-N", "web", k, "--", "x"); !bytes.Equal(a, b) {
		t.Error("two archives of the same inputs differ")
	}
	p := filepath.Join(t.TempDir(), "web.tar.gz")
	if r := gce(t, "", "-o", p, "-N", "web", k, "--", "x"); r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("-o FILE: %+v", r)
	}
	if b, err := os.ReadFile(p); err != nil || !bytes.Equal(a, b) {
		t.Errorf("-o FILE differs from -o - (%v)", err)
	}
	if r := gce(t, "", "-o", k, k); r.code != 1 || !strings.Contains(r.stderr, "the output would replace an input") {
		t.Errorf("-o KERNEL: %+v", r)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000001")
	if b := archiveOf(t, "-N", "web", k, "--", "x"); bytes.Equal(a, b) {
		t.Error("SOURCE_DATE_EPOCH does not reach the archive")
	}
}

func TestDryRun(t *testing.T) {
	needGRUB(t)
	srv := gcefake.New(t)
	srv.Env(t)
	k := hwKernel(t, "app")
	r := gce(t, "", args("-n", "-i", "--rm", "--machine-type", "n1-standard-1", "-N", "web", k)...)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	id := regexp.MustCompile(`gcloud compute images describe web-([0-9a-f]{12}) `).FindStringSubmatch(r.stdout)
	if id == nil {
		t.Fatalf("no image name in\n%s", r.stdout)
	}
	for _, want := range []string{
		"# disk.raw: a raw disk of 1 GiB, booted by SeaBIOS through its MBR and GRUB:",
		"/boot/grub/eltorito.img", "/boot/kernel", "/json.cfg",
		"gcloud storage cp ARCHIVE gs://my-bucket/web-" + id[1] + ".tar.gz --project my-project",
		"--source-uri gs://my-bucket/web-" + id[1] + ".tar.gz",
		"--machine-type n1-standard-1",
		"--network-interface network=default,nic-type=VIRTIO_NET",
		"get-serial-port-output web-" + id[1],
		"gcloud compute instances delete web-" + id[1],
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("-n output lacks %q:\n%s", want, r.stdout)
		}
	}
	if n, _ := srv.Stats(); n != 0 {
		t.Errorf("-n made %d requests", n)
	}
}

// TestLaunch runs the whole job against the fake: upload, image, instance,
// console to the exit status, and --rm.
func TestLaunch(t *testing.T) {
	needGRUB(t)
	srv := gcefake.New(t)
	srv.Env(t)
	srv.OperationPolls = 1
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	k := hwKernel(t, "hello")
	console := []string{
		"SeaBIOS\nBooting from Hard Disk...\n",
		"SeaBIOS\nBooting from Hard Disk...\n",
		"SeaBIOS\nBooting from Hard Disk...\n=== calling \"hello\" main() ===\nhi\n=== main() of \"hello\" returned 7 ===\n=== ERROR: _exit(7) called ===\n",
	}
	srv.Console = func(name string, n int) (string, string) { return console[min(n, len(console))-1], "" }
	r := gce(t, "", args("-i", "--rm", "-N", "web", "-e", "A=B", k, "--", "x", "two words")...)
	if r.code != 7 {
		t.Fatalf("exit %d, want 7:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	name := regexp.MustCompile(`^web-[0-9a-f]{12}\n`).FindString(r.stdout)
	if name == "" {
		t.Fatalf("stdout %q", r.stdout)
	}
	name = strings.TrimSpace(name)
	if want := name + "\n" + name + "\n" + console[2]; r.stdout != want {
		t.Errorf("stdout\n%q\nwant\n%q", r.stdout, want)
	}

	// The object was the archive -o writes, byte for byte, and is gone.
	up := srv.Uploaded()
	if len(up) != 1 || up[0].Bucket != "my-bucket" || up[0].Name != name+".tar.gz" || up[0].ContentType != "application/gzip" {
		t.Fatalf("uploads %+v", up)
	}
	if !bytes.Equal(up[0].Data, archiveOf(t, "-N", "web", "-e", "A=B", k, "--", "x", "two words")) {
		t.Error("the object differs from the archive -o writes")
	}
	if len(srv.Objects()) != 0 || len(srv.Instances()) != 0 {
		t.Errorf("left: objects %v, instances %v", srv.Objects(), srv.Instances())
	}

	im := srv.Image("my-project", name)
	if im == nil || im.Status != "READY" || im.DiskSize != 1<<30 || im.Format != tar.FormatGNU || im.Typeflag != tar.TypeGNUSparse || im.DataBytes == 0 {
		t.Fatalf("image %+v", im)
	}
	req := im.Request
	if req.RawDisk.Source != "https://storage.googleapis.com/my-bucket/"+name+".tar.gz" || req.Architecture != "X86_64" ||
		req.Labels["rumptools-kernel"] != "app_bin" || req.Labels["rumptools-bake"] != "hw_generic" ||
		!strings.HasPrefix(req.Description, "rumprun kernel app.bin (hw_generic, x86_64; programs hello;") {
		t.Errorf("image request %+v", req)
	}
	var insert *gcefake.Call
	calls := srv.Calls()
	for i := range calls {
		if calls[i].Op == "instances.insert" {
			insert = &calls[i]
		}
	}
	if insert == nil || insert.Query.Get("requestId") == "" {
		t.Errorf("instances.insert without a requestId: %+v", insert)
	}

	want := []string{"images.get", "upload.start", "upload.put", "images.insert", "globalOperations.wait", "globalOperations.wait",
		"objects.delete", "instances.insert", "zoneOperations.wait", "zoneOperations.wait", "instances.get",
		"instances.getSerialPortOutput", "instances.getSerialPortOutput", "instances.get", "instances.getSerialPortOutput",
		"instances.delete", "zoneOperations.wait", "zoneOperations.wait"}
	if got := ops(srv); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("calls\n got %v\nwant %v", got, want)
	}
	for _, l := range []string{"gs://my-bucket/" + name + ".tar.gz: ", "image " + name + " ready", "instance " + name + " is RUNNING in us-central1-a (e2-small, external address 203.0.113.7)",
		"gs://my-bucket/" + name + ".tar.gz deleted", "instance " + name + " deleted"} {
		if !strings.Contains(r.stderr, "rump-launch-gce: "+l) {
			t.Errorf("stderr lacks %q:\n%s", l, r.stderr)
		}
	}
	noViolations(t, srv)
}

// TestInstanceRequest checks the instance as Compute Engine receives it.
func TestInstanceRequest(t *testing.T) {
	needGRUB(t)
	srv := gcefake.New(t)
	srv.Env(t)
	k := hwKernel(t, "hello")
	r := gce(t, "", args("--machine-type", "n2d-standard-2", "--no-address", "--name", "Box 1", "-I", "vioif0", k)...)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	names := strings.Fields(r.stdout)
	if len(names) != 2 || !strings.HasPrefix(names[0], "box-1-") || names[1] != names[0] {
		t.Fatalf("stdout %q", r.stdout)
	}
	in := srv.Instance("my-project", "us-central1-a", names[1])
	if in == nil || in.Status != "RUNNING" {
		t.Fatalf("instance %+v", in)
	}
	req := in.Request
	d, nic := req.Disks[0], req.NetworkInterfaces[0]
	if req.MachineType != "zones/us-central1-a/machineTypes/n2d-standard-2" || d.InitializeParams.SourceImage != "projects/my-project/global/images/"+names[0] ||
		d.InitializeParams.DiskSizeGb != 10 || !d.AutoDelete || nic.NicType != "VIRTIO_NET" || len(nic.AccessConfigs) != 0 ||
		req.DisplayDevice == nil || req.DisplayDevice.EnableDisplay || len(req.ServiceAccounts) != 0 || req.Labels["rumptools-archive"] == "" {
		t.Errorf("instance request %+v", req)
	}
	if !strings.Contains(r.stderr, "(n2d-standard-2, no external address)") {
		t.Errorf("stderr %s", r.stderr)
	}
	noViolations(t, srv)
}

// TestUploadResumes fails the second chunk of a 20 MiB archive after the
// session kept 3 MiB of it: the tool asks for the offset (Content-Range:
// bytes */SIZE), goes on from there, and the object is the archive.
func TestUploadResumes(t *testing.T) {
	needGRUB(t)
	srv := gcefake.New(t)
	srv.Env(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1")
	k := hwKernel(t, "hello")
	// Random bytes after the ELF image: an incompressible 20 MiB kernel.
	f, err := os.OpenFile(k, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, 20<<20)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range junk {
		junk[i] = byte(rnd.Uint32())
	}
	f.Write(junk)
	f.Close()
	srv.ChunkFault = func(n int, first int64, length int) *gcefake.ChunkFault {
		if n == 2 {
			return &gcefake.ChunkFault{Keep: 3 << 20, Status: 503}
		}
		return nil
	}
	r := gce(t, "", args(k)...)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	archive := archiveOf(t, k)
	up := srv.Uploaded()
	if len(up) != 1 || !bytes.Equal(up[0].Data, archive) {
		t.Fatalf("the object (%d uploads) differs from the archive (%d bytes)", len(up), len(archive))
	}
	var ranges []string
	for _, c := range srv.Calls() {
		if c.Op == "upload.put" || c.Op == "upload.query" {
			ranges = append(ranges, c.Header.Get("Content-Range"))
		}
	}
	n := len(archive)
	want := []string{
		fmt.Sprintf("bytes 0-%d/%d", 8<<20-1, n), fmt.Sprintf("bytes %d-%d/%d", 8<<20, 16<<20-1, n),
		fmt.Sprintf("bytes */%d", n),
		fmt.Sprintf("bytes %d-%d/%d", 11<<20, 16<<20-1, n), fmt.Sprintf("bytes %d-%d/%d", 16<<20, n-1, n),
	}
	if fmt.Sprint(ranges) != fmt.Sprint(want) {
		t.Errorf("Content-Range\n got %q\nwant %q", ranges, want)
	}
	if !strings.Contains(r.stderr, "(1 retried)") {
		t.Errorf("stderr %s", r.stderr)
	}
	noViolations(t, srv)
}

// TestImageReused: an image of the archive's name exists, so nothing is
// uploaded.
func TestImageReused(t *testing.T) {
	needGRUB(t)
	srv := gcefake.New(t)
	srv.Env(t)
	k := hwKernel(t, "hello")
	dry := gce(t, "", args("-n", k)...)
	name := regexp.MustCompile(`gcloud compute images describe (\S+)`).FindStringSubmatch(dry.stdout)
	if name == nil {
		t.Fatalf("%+v", dry)
	}
	srv.AddImage("my-project", name[1])
	r := gce(t, "", args(k)...)
	if r.code != 0 || !strings.Contains(r.stderr, "image "+name[1]+" exists (made from the same archive): nothing to upload") {
		t.Fatalf("%+v", r)
	}
	if got := ops(srv); fmt.Sprint(got) != "[images.get instances.insert zoneOperations.wait instances.get]" {
		t.Errorf("calls %v", got)
	}
	// A second run: the instance exists.
	r = gce(t, "", args(k)...)
	if r.code != 1 || !strings.Contains(r.stderr, "exists in us-central1-a (from an earlier run without --rm?)") {
		t.Errorf("%+v", r)
	}
	noViolations(t, srv)
}

// TestConsoleEnds covers the ends of a followed console that are not an
// exit: a kernel that fails to bootstrap, an instance that stops, an
// image that cannot be made; --rm deletes what was made each time.
func TestConsoleEnds(t *testing.T) {
	needGRUB(t)
	for _, c := range []struct {
		name    string
		console func(n int) (string, string)
		setup   func(*gcefake.Server)
		want    string
	}{
		{"bootstrap failed", func(int) (string, string) { return "=== bootstrap failed\n", "" }, nil, "=== bootstrap failed"},
		{"halted without exit", func(int) (string, string) { return "halted\n", "" }, nil, "the kernel halted without the program's exit status"},
		{"instance stopped", func(n int) (string, string) {
			if n == 1 {
				return "booting\n", "TERMINATED"
			}
			return "booting\n", ""
		}, nil, "is TERMINATED, and its console shows no exit of the program"},
		{"console lost", func(n int) (string, string) {
			return strings.Repeat("x", 100*n) + "\n=== _exit(0) called ===\n", ""
		}, func(s *gcefake.Server) { s.Retain = 50 }, "bytes of console output were lost"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := gcefake.New(t)
			srv.Env(t)
			srv.Console = func(_ string, n int) (string, string) { return c.console(n) }
			if c.setup != nil {
				c.setup(srv)
			}
			r := gce(t, "", args("-i", "--rm", hwKernel(t, "hello"))...)
			if !strings.Contains(r.stderr, c.want) {
				t.Errorf("exit %d, stderr %s; want %q", r.code, r.stderr, c.want)
			}
			if c.name != "console lost" && r.code != 1 {
				t.Errorf("exit %d, want 1", r.code)
			}
			if len(srv.Instances()) != 0 || len(srv.Objects()) != 0 || len(srv.Images()) != 1 {
				t.Errorf("left: instances %v, objects %v, images %v", srv.Instances(), srv.Objects(), srv.Images())
			}
			noViolations(t, srv)
		})
	}
}

// TestRetriesAndRemoval: a refused image is an error that leaves no
// object behind with --rm; a failed insert is retried with the same
// requestId; --rm-image removes the image too.
func TestRetriesAndRemoval(t *testing.T) {
	needGRUB(t)
	exit0 := func(string, int) (string, string) { return "=== _exit(0) called ===\n", "" }

	srv := gcefake.New(t)
	srv.Env(t)
	srv.Fault = func(c gcefake.Call) *gcefake.Fault {
		if c.Op == "images.insert" {
			return &gcefake.Fault{Status: 403, Reason: "forbidden", Message: "Required 'compute.images.create' permission"}
		}
		return nil
	}
	r := gce(t, "", args("-i", "--rm", hwKernel(t, "hello"))...)
	if r.code != 1 || !regexp.MustCompile(`creating image app-[0-9a-f]{12}: googleapi: Error 403: Required 'compute.images.create' permission`).MatchString(r.stderr) {
		t.Errorf("image refused: %+v", r)
	}
	if len(srv.Uploaded()) != 1 || len(srv.Objects()) != 0 || len(srv.Images()) != 0 || len(srv.Instances()) != 0 {
		t.Errorf("image refused: uploads %d, left objects %v, images %v, instances %v", len(srv.Uploaded()), srv.Objects(), srv.Images(), srv.Instances())
	}
	noViolations(t, srv)

	srv = gcefake.New(t)
	srv.Env(t)
	failed := false
	srv.Fault = func(c gcefake.Call) *gcefake.Fault {
		if c.Op == "instances.insert" && !failed {
			failed = true
			return &gcefake.Fault{Status: 503, Reason: "backendError", Message: "try again"}
		}
		return nil
	}
	r = gce(t, "", args(hwKernel(t, "hello"))...)
	if r.code != 0 || !strings.Contains(r.stderr, "googleapi: Error 503: try again, backendError; trying again") || len(srv.Instances()) != 1 {
		t.Errorf("instance retried: %+v, instances %v", r, srv.Instances())
	}
	var ids []string
	for _, c := range srv.Calls() {
		if c.Op == "instances.insert" {
			ids = append(ids, c.Query.Get("requestId"))
		}
	}
	if len(ids) != 2 || ids[0] == "" || ids[0] != ids[1] {
		t.Errorf("instance retried: requestIds %q, want the same twice", ids)
	}
	noViolations(t, srv)

	srv = gcefake.New(t)
	srv.Env(t)
	srv.Console = exit0
	r = gce(t, "", args("-i", "--rm", "--rm-image", hwKernel(t, "hello"))...)
	if r.code != 0 || len(srv.Images()) != 0 || len(srv.Instances()) != 0 || len(srv.Objects()) != 0 || !strings.Contains(r.stderr, "deleted") {
		t.Errorf("--rm-image: %+v; left images %v, instances %v, objects %v", r, srv.Images(), srv.Instances(), srv.Objects())
	}
	noViolations(t, srv)
}

// For an initrd/1 kernel, -n names what /boot/initrd holds: the initrd
// given, followed by the replacement config when the config changed.
func TestDryRunInitrd(t *testing.T) {
	needGRUB(t)
	srv := gcefake.New(t)
	srv.Env(t)
	k := xltest.Kernel{Initrd: true, Programs: []string{"app"}}.Write(t, t.TempDir(), "app.bin")
	b := initrd.NewBuilder(initrd.Options{})
	if err := b.AddData("json.cfg", []byte(`{"rc": [{"bin": "app", "argv": []}]}`), 0o644, "test"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.WriteArchive(&buf); err != nil {
		t.Fatal(err)
	}
	rd := writeFile(t, "app.initrd", buf.String())
	for _, c := range []struct {
		extra []string
		want  string
	}{
		{nil, "bytes  (" + rd + ")\n"},
		{[]string{"--", "arg"}, "bytes  (" + rd + ", then the config replacing its /json.cfg)\n"},
	} {
		r := gce(t, "", args(append([]string{"-n", k, rd}, c.extra...)...)...)
		if r.code != 0 {
			t.Fatalf("%+v", r)
		}
		var line string
		for _, l := range strings.SplitAfter(r.stdout, "\n") {
			if strings.Contains(l, "/boot/initrd ") {
				line = l
			}
		}
		if !strings.HasSuffix(line, c.want) {
			t.Errorf("%v: /boot/initrd line %q, want it to end in %q", c.extra, line, c.want)
		}
	}
}
