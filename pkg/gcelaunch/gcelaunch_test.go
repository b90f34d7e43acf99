package gcelaunch

import (
	"debug/elf"
	"strings"
	"testing"

	"github.com/mattn/go-shellwords"

	"github.com/rumptools/rumptools/pkg/kernel"
)

func job() *Job {
	j := &Job{Project: "my-project", Zone: "europe-west4-b", Bucket: "my-bucket", Name: "web", DiskGiB: 1,
		Description: "a kernel", Labels: map[string]string{LabelKernel: "web_bin"}}
	copy(j.Archive.SHA256[:], []byte{0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67})
	return j
}

func TestNames(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"web", "web-abcdef012345"},
		{"Web Server_2", "web-server-2-abcdef012345"},
		{"--x--", "x-abcdef012345"},
		{"9lives", "rumprun-9lives-abcdef012345"},
		{"", "rumprun-abcdef012345"},
		{"ü", "rumprun-abcdef012345"},
		{strings.Repeat("a", 70), strings.Repeat("a", 50) + "-abcdef012345"},
		{strings.Repeat("a", 49) + "-b", strings.Repeat("a", 49) + "-abcdef012345"},
	} {
		j := job()
		j.Name = c.name
		n := j.Names()
		if n.Image != c.want || n.Instance != c.want || n.Object != c.want+".tar.gz" || len(n.Image) > 63 {
			t.Errorf("%q: %+v, want %s", c.name, n, c.want)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		edit func(*Job)
		want string
	}{
		{func(j *Job) {}, ""},
		{func(j *Job) { j.Project = "" }, "no project"},
		{func(j *Job) { j.Project = "My_Project" }, `project "My_Project"`},
		{func(j *Job) { j.Project = "example.com:my-project" }, ""},
		{func(j *Job) { j.Zone = "us-central1" }, `zone "us-central1"`},
		{func(j *Job) { j.Bucket = "gs://b" }, `bucket "gs://b"`},
		{func(j *Job) { j.Bucket = "" }, "no bucket"},
		{func(j *Job) { j.Remove = true }, "-i"},
		{func(j *Job) { j.Follow, j.RemoveImage = true, true }, "give --rm too"},
		{func(j *Job) { j.MachineType = "c3-standard-4" }, "offers network only as gVNIC"},
	} {
		j := job()
		c.edit(j)
		err := j.Check()
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", j, err, c.want)
		}
	}
}

func TestCheckMachineType(t *testing.T) {
	for _, ok := range []string{"e2-small", "e2-micro", "n1-standard-1", "f1-micro", "g1-small", "custom-2-4096", "e2-custom-2-4096",
		"n2-highmem-2", "n2d-standard-2", "c2-standard-4", "c2d-highcpu-2", "t2d-standard-1", "m1-ultramem-40", "a2-highgpu-1g"} {
		if err := CheckMachineType(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for mt, want := range map[string]string{
		"c3-standard-4": "gVNIC", "n4-standard-2": "gVNIC", "h3-standard-88": "gVNIC", "g2-standard-4": "gVNIC",
		"t2a-standard-1": "Arm CPUs", "c4a-standard-1": "Arm CPUs",
		"z9-standard-1": "family z9 is not one", "e2": "want a Compute Engine machine type", "E2-SMALL": "want a Compute Engine machine type",
	} {
		if err := CheckMachineType(mt); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", mt, err, want)
		}
	}
}

func TestCheckKernel(t *testing.T) {
	mb := &kernel.MultibootHeader{}
	for _, c := range []struct {
		k    kernel.Kernel
		want string
	}{
		{kernel.Kernel{Platform: kernel.PlatformHW, Multiboot: mb, Machine: elf.EM_X86_64}, ""},
		{kernel.Kernel{Platform: kernel.PlatformHW, Multiboot: mb, Machine: elf.EM_386}, ""},
		{kernel.Kernel{Platform: kernel.PlatformXen, Machine: elf.EM_X86_64}, "Xen PV kernel cannot run on Compute Engine"},
		{kernel.Kernel{Machine: elf.EM_X86_64}, "not a multiboot"},
		{kernel.Kernel{Platform: kernel.PlatformHW, Multiboot: mb, Machine: elf.EM_AARCH64}, "x86 kernels"},
	} {
		err := CheckKernel(&c.k)
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.k, err, c.want)
		}
	}
}

func TestRequests(t *testing.T) {
	j := job()
	im := j.ImageRequest()
	if im.Name != "web-abcdef012345" || im.RawDisk.Source != "https://storage.googleapis.com/my-bucket/web-abcdef012345.tar.gz" ||
		im.Architecture != "X86_64" || im.Labels[LabelID] != "abcdef012345" || im.Labels[LabelKernel] != "web_bin" || im.Description != "a kernel" {
		t.Errorf("image %+v", im)
	}
	in := j.InstanceRequest()
	d := in.Disks[0]
	nic := in.NetworkInterfaces[0]
	if in.MachineType != "zones/europe-west4-b/machineTypes/e2-small" || !d.Boot || !d.AutoDelete ||
		d.InitializeParams.SourceImage != "projects/my-project/global/images/web-abcdef012345" ||
		d.InitializeParams.DiskType != "zones/europe-west4-b/diskTypes/pd-standard" || d.InitializeParams.DiskSizeGb != 10 ||
		nic.NicType != "VIRTIO_NET" || nic.Network != "global/networks/default" || len(nic.AccessConfigs) != 1 ||
		len(in.ServiceAccounts) != 0 || in.DisplayDevice.EnableDisplay {
		t.Errorf("instance %+v", in)
	}
	j.NoAddress, j.DiskGiB, j.MachineType = true, 12, "n1-standard-1"
	in = j.InstanceRequest()
	if len(in.NetworkInterfaces[0].AccessConfigs) != 0 || in.Disks[0].InitializeParams.DiskSizeGb != 12 || !strings.HasSuffix(in.MachineType, "/n1-standard-1") {
		t.Errorf("instance %+v", in)
	}
}

func TestLabelsAndDescription(t *testing.T) {
	l := KernelLabels("My App.bin", &kernel.BakeRecord{Config: "hw_generic"})
	if l[LabelKernel] != "my_app_bin" || l[LabelBake] != "hw_generic" {
		t.Errorf("labels %v", l)
	}
	if l := KernelLabels(strings.Repeat("x", 100), nil); len(l[LabelKernel]) != 63 || len(l) != 1 {
		t.Errorf("labels %v", l)
	}
	k := &kernel.Kernel{Platform: kernel.PlatformHW, Machine: elf.EM_X86_64,
		Bake: &kernel.BakeRecord{Config: "hw_generic", Programs: []string{"a", "b"}, Tool: "rump-bake 1"}}
	if d := Description("app.bin", "00ff", k); d != "rumprun kernel app.bin (hw_generic, x86_64; programs a,b; rump-bake 1), SHA-256 00ff, by rump-launch-gce" {
		t.Errorf("description %q", d)
	}
	if d := Description(strings.Repeat("é", 2000), "00ff", k); len(d) > 2048 || !strings.HasSuffix(d, "...") {
		t.Errorf("long description: %d bytes", len(d))
	}
}

// TestScript checks that every command the script prints is a valid
// shell command line and carries the job's parameters.
func TestScript(t *testing.T) {
	j := job()
	j.Follow, j.Remove, j.RemoveImage = true, true, true
	var b strings.Builder
	if err := j.Script(&b, ScriptOptions{Layout: []string{"disk.raw: ..."}, Archive: "web's.tar.gz"}); err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(b.String(), "\\\n", "")
	var cmds [][]string
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		w, err := (&shellwords.Parser{}).Parse(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		cmds = append(cmds, w)
	}
	want := []string{
		"gcloud compute images describe web-abcdef012345 --project my-project --format value(status)",
		"gcloud storage cp web's.tar.gz gs://my-bucket/web-abcdef012345.tar.gz --project my-project",
		"gcloud compute images create web-abcdef012345 --project my-project --source-uri gs://my-bucket/web-abcdef012345.tar.gz --architecture X86_64 --description a kernel --labels rumptools-archive=abcdef012345,rumptools-kernel=web_bin",
		"gcloud storage rm gs://my-bucket/web-abcdef012345.tar.gz --project my-project",
		"gcloud compute instances create web-abcdef012345 --project my-project --zone europe-west4-b --machine-type e2-small --image web-abcdef012345 --image-project my-project --boot-disk-type pd-standard --boot-disk-size 10GB --network-interface network=default,nic-type=VIRTIO_NET --no-service-account --no-scopes --description a kernel --labels rumptools-archive=abcdef012345,rumptools-kernel=web_bin",
		"gcloud compute instances delete web-abcdef012345 --project my-project --zone europe-west4-b --quiet",
		"gcloud compute images delete web-abcdef012345 --project my-project --quiet",
	}
	if len(cmds) != len(want) {
		t.Fatalf("%d commands, want %d:\n%s", len(cmds), len(want), b.String())
	}
	for i := range want {
		if got := strings.Join(cmds[i], " "); got != want[i] {
			t.Errorf("command %d:\n got %s\nwant %s", i, got, want[i])
		}
	}
	if !strings.Contains(b.String(), "#   gcloud compute instances get-serial-port-output web-abcdef012345 \\\n#      --project my-project") {
		t.Errorf("no console command:\n%s", b.String())
	}
}
