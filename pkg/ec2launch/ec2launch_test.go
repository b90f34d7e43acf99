package ec2launch_test

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rumptools/rumptools/pkg/awsfake"
	"github.com/rumptools/rumptools/pkg/ebsupload"
	"github.com/rumptools/rumptools/pkg/ec2launch"
	"github.com/rumptools/rumptools/pkg/kernel"
)

func clients(t *testing.T, srv *awsfake.Server) *ec2launch.Clients {
	t.Helper()
	srv.Env(t)
	c, err := ec2launch.NewClients(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "us-east-1" {
		t.Fatalf("region %q from the environment, want us-east-1", c.Region)
	}
	return c
}

func runner(c *ec2launch.Clients, console *bytes.Buffer) *ec2launch.Runner {
	r := &ec2launch.Runner{
		Clients: c, Poll: time.Millisecond,
		Upload: ebsupload.Options{Retry: ebsupload.Retry{BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}},
	}
	if console != nil {
		r.Console = console
	}
	return r
}

// clientToken removes RunInstances' idempotency token from p after
// checking that the SDK made one.
func clientToken(t *testing.T, p url.Values) url.Values {
	t.Helper()
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(p.Get("ClientToken")) {
		t.Errorf("RunInstances ClientToken %q, want a UUID", p.Get("ClientToken"))
	}
	p.Del("ClientToken")
	return p
}

// volume is a 3-block image with data in blocks 0 and 2.
func volume() []byte {
	img := make([]byte, 3*ebsupload.BlockSize)
	copy(img, "first block")
	copy(img[2*ebsupload.BlockSize:], "third block")
	return img
}

func pvJob(run *ec2launch.RunOptions) *ec2launch.Job {
	aki, _ := ec2launch.KernelID("us-east-1", "x86_64")
	return &ec2launch.Job{
		Region: "us-east-1", Virt: ec2launch.Paravirtual, Arch: "x86_64",
		Name: "hello app", Description: "rumprun kernel app.bin", KernelID: aki, VolumeSize: 1,
		Tags: map[string]string{"rumptools:kernel": "app.bin"}, Run: run,
	}
}

func hvmJob(run *ec2launch.RunOptions) *ec2launch.Job {
	return &ec2launch.Job{
		Region: "us-east-1", Virt: ec2launch.HVM, Arch: "i386",
		Name: "probe", VolumeSize: 2, VolumeType: "gp3", Run: run,
	}
}

// params compares a call's parameters with want exactly: no parameter
// missing, none extra.
func params(t *testing.T, what string, got url.Values, want map[string]string) {
	t.Helper()
	g := map[string]string{}
	for k, v := range got {
		g[k] = strings.Join(v, "|")
	}
	if !reflect.DeepEqual(g, want) {
		var keys []string
		for k := range g {
			keys = append(keys, k)
		}
		for k := range want {
			if _, ok := g[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if g[k] != want[k] {
				t.Errorf("%s %s = %q, want %q", what, k, g[k], want[k])
			}
		}
	}
}

func TestRegisterAndRunPV(t *testing.T) {
	srv := awsfake.New(t)
	srv.PendingPolls = 2
	c := clients(t, srv)
	var console bytes.Buffer
	r := runner(c, &console)
	var ids []string
	r.IDs = func(id string) { ids = append(ids, id) }
	j := pvJob(&ec2launch.RunOptions{InstanceType: "m3.medium", SubnetID: "subnet-1", SecurityGroupIDs: []string{"sg-1", "sg-2"}, KeyName: "me"})
	img := volume()
	res, err := r.Run(context.Background(), j, bytes.NewReader(img), int64(len(img)), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range srv.Violations() {
		t.Errorf("violation: %s", v)
	}
	if !reflect.DeepEqual(ids, []string{res.ImageID, res.InstanceID}) || res.ImageID == "" || res.InstanceID == "" {
		t.Errorf("IDs reported %v, result %+v", ids, res)
	}
	sn := srv.Snapshot(res.SnapshotID)
	if !bytes.Equal(sn.Content(int64(len(img))), img) || sn.Tags["Name"] != "hello app" || sn.Tags["rumptools:kernel"] != "app.bin" {
		t.Errorf("snapshot: tags %v, content equal %v", sn.Tags, bytes.Equal(sn.Content(int64(len(img))), img))
	}
	if n := len(srv.CallsTo("DescribeSnapshots")); n != 3 {
		t.Errorf("DescribeSnapshots called %d times, want 3 (two while pending)", n)
	}
	var order []string
	for _, call := range srv.Calls() {
		if call.Op != "PutSnapshotBlock" && (len(order) == 0 || order[len(order)-1] != call.Op) {
			order = append(order, call.Op)
		}
	}
	wantOrder := []string{"StartSnapshot", "CompleteSnapshot", "DescribeSnapshots", "RegisterImage", "DescribeImages", "RunInstances", "DescribeInstances"}
	if !reflect.DeepEqual(order, wantOrder) {
		t.Errorf("call order %v, want %v", order, wantOrder)
	}

	reg := srv.CallsTo("RegisterImage")[0].Params
	params(t, "RegisterImage", reg, map[string]string{
		"Name":                                         "hello app-" + res.SnapshotID,
		"Description":                                  "rumprun kernel app.bin",
		"Architecture":                                 "x86_64",
		"VirtualizationType":                           "paravirtual",
		"KernelId":                                     "aki-5c21674b",
		"RootDeviceName":                               "/dev/sda1",
		"BlockDeviceMapping.1.DeviceName":              "/dev/sda1",
		"BlockDeviceMapping.1.Ebs.SnapshotId":          res.SnapshotID,
		"BlockDeviceMapping.1.Ebs.VolumeSize":          "1",
		"BlockDeviceMapping.1.Ebs.VolumeType":          "gp2",
		"BlockDeviceMapping.1.Ebs.DeleteOnTermination": "true",
		"TagSpecification.1.ResourceType":              "image",
		"TagSpecification.1.Tag.1.Key":                 "Name",
		"TagSpecification.1.Tag.1.Value":               "hello app",
		"TagSpecification.1.Tag.2.Key":                 "rumptools:kernel",
		"TagSpecification.1.Tag.2.Value":               "app.bin",
	})
	run := clientToken(t, srv.CallsTo("RunInstances")[0].Params)
	params(t, "RunInstances", run, map[string]string{
		"ImageId":                         res.ImageID,
		"InstanceType":                    "m3.medium",
		"MinCount":                        "1",
		"MaxCount":                        "1",
		"SubnetId":                        "subnet-1",
		"SecurityGroupId.1":               "sg-1",
		"SecurityGroupId.2":               "sg-2",
		"KeyName":                         "me",
		"TagSpecification.1.ResourceType": "instance",
		"TagSpecification.1.Tag.1.Key":    "Name",
		"TagSpecification.1.Tag.1.Value":  "hello app",
		"TagSpecification.1.Tag.2.Key":    "rumptools:kernel",
		"TagSpecification.1.Tag.2.Value":  "app.bin",
	})
	if srv.Instance(res.InstanceID).Terminated() {
		t.Error("instance terminated without --rm")
	}
}

func TestRegisterAndRunHVM(t *testing.T) {
	srv := awsfake.New(t)
	c := clients(t, srv)
	r := runner(c, nil)
	j := hvmJob(&ec2launch.RunOptions{InstanceType: "t2.micro", Terminate: true})
	img := volume()
	res, err := r.Run(context.Background(), j, bytes.NewReader(img), int64(len(img)), false)
	if err != nil {
		t.Fatal(err)
	}
	params(t, "RegisterImage", srv.CallsTo("RegisterImage")[0].Params, map[string]string{
		"Name":                                         "probe-" + res.SnapshotID,
		"Architecture":                                 "i386",
		"VirtualizationType":                           "hvm",
		"BootMode":                                     "legacy-bios",
		"EnaSupport":                                   "false",
		"RootDeviceName":                               "/dev/xvda",
		"BlockDeviceMapping.1.DeviceName":              "/dev/xvda",
		"BlockDeviceMapping.1.Ebs.SnapshotId":          res.SnapshotID,
		"BlockDeviceMapping.1.Ebs.VolumeSize":          "2",
		"BlockDeviceMapping.1.Ebs.VolumeType":          "gp3",
		"BlockDeviceMapping.1.Ebs.DeleteOnTermination": "true",
		"TagSpecification.1.ResourceType":              "image",
		"TagSpecification.1.Tag.1.Key":                 "Name",
		"TagSpecification.1.Tag.1.Value":               "probe",
	})
	params(t, "RunInstances", clientToken(t, srv.CallsTo("RunInstances")[0].Params), map[string]string{
		"ImageId":                           res.ImageID,
		"InstanceType":                      "t2.micro",
		"MinCount":                          "1",
		"MaxCount":                          "1",
		"InstanceInitiatedShutdownBehavior": "terminate",
		"TagSpecification.1.ResourceType":   "instance",
		"TagSpecification.1.Tag.1.Key":      "Name",
		"TagSpecification.1.Tag.1.Value":    "probe",
	})
	if sn := srv.Snapshot(res.SnapshotID); sn.VolumeSize != 2 {
		t.Errorf("snapshot of %d GiB, want 2", sn.VolumeSize)
	}
}

func TestRegisterOnly(t *testing.T) {
	srv := awsfake.New(t)
	c := clients(t, srv)
	img := volume()
	res, err := runner(c, nil).Run(context.Background(), pvJob(nil), bytes.NewReader(img), int64(len(img)), true)
	if err != nil {
		t.Fatal(err)
	}
	if res.ImageID == "" || res.InstanceID != "" || len(srv.CallsTo("RunInstances")) != 0 || len(srv.CallsTo("DescribeImages")) != 0 {
		t.Errorf("result %+v; calls %v", res, srv.Calls())
	}
}

func TestInstanceTypeRefusals(t *testing.T) {
	for _, c := range []struct {
		typ  string
		virt ec2launch.Virtualization
		want string // "" for accepted
	}{
		{"m3.medium", ec2launch.Paravirtual, ""},
		{"t1.micro", ec2launch.Paravirtual, ""},
		{"m3.medium", ec2launch.HVM, ""},
		{"t2.micro", ec2launch.HVM, ""},
		{"c4.large", ec2launch.HVM, ""},
		{"m5.large", ec2launch.HVM, "Nitro"},
		{"t3.micro", ec2launch.Paravirtual, "Nitro"},
		{"c7g.large", ec2launch.HVM, "ENA and NVMe"},
		{"i3.metal", ec2launch.HVM, "Nitro"},
		{"p3dn.24xlarge", ec2launch.HVM, "Nitro"},
		{"t2.micro", ec2launch.Paravirtual, "HVM images only"},
		{"m1.small", ec2launch.HVM, "paravirtual images only"},
		{"m3", ec2launch.HVM, "FAMILY.SIZE"},
	} {
		err := ec2launch.CheckInstanceType(c.typ, c.virt)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s (%s) refused: %v", c.typ, c.virt, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s (%s): error %v, want one saying %q", c.typ, c.virt, err, c.want)
		}
	}
}

// A Nitro type is refused before anything is uploaded or paid for.
func TestNitroRefusedBeforeAnyCall(t *testing.T) {
	srv := awsfake.New(t)
	c := clients(t, srv)
	img := volume()
	_, err := runner(c, nil).Run(context.Background(), hvmJob(&ec2launch.RunOptions{InstanceType: "m5.large"}), bytes.NewReader(img), int64(len(img)), false)
	if err == nil || !strings.Contains(err.Error(), "ENA and NVMe devices") || !strings.Contains(err.Error(), "rumprun kernels have no driver") {
		t.Fatalf("error %v", err)
	}
	if n, _ := srv.Stats(); n != 0 {
		t.Errorf("%d requests made for a refused instance type", n)
	}
}

const transcript = "Xen Minimal OS!\r\n  start_info: 0x0\r\nrumprun booting\n=== calling \"hello\" main() ===\nhello, world\n" +
	"=== main() of \"hello\" returned 7 ===\n=== _exit(7) called ===\n"

func TestFollowConsoleToExitStatus(t *testing.T) {
	srv := awsfake.New(t)
	c := clients(t, srv)
	cut := []int{0, 0, 40, 70, len(transcript) - 5, len(transcript)}
	srv.Console = func(id string, n int) string {
		return transcript[:cut[min(n, len(cut)-1)]]
	}
	var console bytes.Buffer
	r := runner(c, &console)
	j := pvJob(&ec2launch.RunOptions{InstanceType: "t1.micro", Terminate: true})
	img := volume()
	res, err := r.Run(context.Background(), j, bytes.NewReader(img), int64(len(img)), true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome == nil || !res.Outcome.Exited || res.Outcome.Status != 7 {
		t.Fatalf("outcome %+v", res.Outcome)
	}
	if console.String() != transcript {
		t.Errorf("console shown as %q, want %q", console.String(), transcript)
	}
	if !srv.Instance(res.InstanceID).Terminated() {
		t.Error("instance not terminated after the program exited")
	}
}

func TestFollowInstanceStopsWithoutMarker(t *testing.T) {
	srv := awsfake.New(t)
	c := clients(t, srv)
	srv.Console = func(id string, n int) string {
		if n == 3 {
			srv.SetInstanceState(id, "stopped")
		}
		return "rumprun booting\n"
	}
	var console bytes.Buffer
	_, err := runner(c, &console).Run(context.Background(), pvJob(&ec2launch.RunOptions{InstanceType: "m1.small"}), bytes.NewReader(volume()), int64(len(volume())), true)
	if err == nil || !strings.Contains(err.Error(), "stopped") || !strings.Contains(err.Error(), "no exit of the program") {
		t.Fatalf("error %v", err)
	}
	if console.String() != "rumprun booting\n" {
		t.Errorf("console %q", console.String())
	}
}

func TestFollowBootstrapFailure(t *testing.T) {
	srv := awsfake.New(t)
	c := clients(t, srv)
	srv.Console = func(string, int) string { return "=== bootstrap failed\nhalted\n" }
	res, err := runner(c, nil).Run(context.Background(), pvJob(&ec2launch.RunOptions{InstanceType: "m1.small", Terminate: true}), bytes.NewReader(volume()), int64(len(volume())), true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome.BootstrapFailed != "=== bootstrap failed" || !srv.Instance(res.InstanceID).Terminated() {
		t.Errorf("outcome %+v", res.Outcome)
	}
}

func TestKernelID(t *testing.T) {
	for _, c := range []struct{ region, arch, want string }{
		{"us-east-1", "x86_64", "aki-5c21674b"},
		{"us-east-1", "i386", "aki-04206613"},
		{"eu-west-1", "x86_64", "aki-dc9ed9af"},
		{"ap-southeast-2", "i386", "aki-ba5665d9"},
	} {
		if got, err := ec2launch.KernelID(c.region, c.arch); got != c.want || err != nil {
			t.Errorf("KernelID(%s, %s) = %s, %v; want %s", c.region, c.arch, got, err, c.want)
		}
	}
	if _, err := ec2launch.KernelID("eu-west-2", "x86_64"); err == nil || !strings.Contains(err.Error(), "--kernel-id") {
		t.Errorf("eu-west-2: %v", err)
	}
	if _, err := ec2launch.KernelID("us-east-1", "aarch64"); err == nil {
		t.Error("an aarch64 PV-GRUB was found")
	}
}

func TestJobChecks(t *testing.T) {
	for _, c := range []struct {
		mod  func(*ec2launch.Job)
		want string
	}{
		{func(j *ec2launch.Job) { j.Region = "" }, "no region"},
		{func(j *ec2launch.Job) { j.KernelID = "" }, "--kernel-id"},
		{func(j *ec2launch.Job) { j.Arch = "aarch64" }, "architecture"},
		{func(j *ec2launch.Job) { j.VolumeSize = 0 }, "volume size"},
	} {
		j := pvJob(nil)
		c.mod(j)
		if err := j.Check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
	j := hvmJob(nil)
	j.KernelID = "aki-1"
	if err := j.Check(); err == nil {
		t.Error("a kernel ID accepted for an HVM image")
	}
}

func TestImageName(t *testing.T) {
	j := &ec2launch.Job{Name: "my app/v1 ü*"}
	if got := j.ImageName("snap-1"); got != "my app/v1 ---snap-1" {
		t.Errorf("%q", got)
	}
	j.Name = strings.Repeat("x", 200)
	if got := j.ImageName("snap-0123456789abcdef0"); len(got) != 128 || !strings.HasSuffix(got, "-snap-0123456789abcdef0") {
		t.Errorf("%q (%d)", got, len(got))
	}
}

func TestKernelTags(t *testing.T) {
	tags := ec2launch.KernelTags("app.bin", "ab12", &kernel.BakeRecord{Config: "xen_pv", Platform: "xen", Arch: "x86_64", Programs: []string{"a", "b"}, Tool: "rump-bake 1"})
	want := map[string]string{"rumptools:kernel": "app.bin", "rumptools:kernel-sha256": "ab12",
		"rumptools:bake": "config=xen_pv platform=xen arch=x86_64 programs=a,b tool=rump-bake 1"}
	if !reflect.DeepEqual(tags, want) {
		t.Errorf("%v", tags)
	}
	long := ec2launch.KernelTags("k", "", &kernel.BakeRecord{Programs: []string{strings.Repeat("p", 300)}})
	if n := len([]rune(long["rumptools:bake"])); n != 256 {
		t.Errorf("bake tag of %d characters", n)
	}
	if _, ok := ec2launch.KernelTags("k", "", nil)["rumptools:bake"]; ok {
		t.Error("bake tag without a bake record")
	}
}

func TestScript(t *testing.T) {
	j := pvJob(&ec2launch.RunOptions{InstanceType: "m3.medium", SubnetID: "subnet-1", SecurityGroupIDs: []string{"sg-1"}, KeyName: "my key", Terminate: true})
	var b bytes.Buffer
	if err := j.Script(&b, ec2launch.ScriptOptions{Profile: "dev", Layout: []string{"layout line"}, Image: "vol.img", Follow: true}); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{
		"# layout line\n",
		`SNAPSHOT_ID=$(aws ebs start-snapshot --region us-east-1 --profile dev --volume-size 1 --description 'rumprun kernel app.bin' --tags '[{"Key":"Name","Value":"hello app"},{"Key":"rumptools:kernel","Value":"app.bin"}]' --query SnapshotId --output text)`,
		`#   aws ebs put-snapshot-block --region us-east-1 --profile dev --snapshot-id "$SNAPSHOT_ID" --block-index N --block-data BLOCK_N --data-length 524288`,
		`--checksum-aggregation-method LINEAR`,
		`aws ec2 wait snapshot-completed --region us-east-1 --profile dev --snapshot-ids "$SNAPSHOT_ID"`,
		`IMAGE_NAME='hello app'-"$SNAPSHOT_ID"`,
		`--architecture x86_64 --virtualization-type paravirtual --kernel-id aki-5c21674b --root-device-name /dev/sda1`,
		`--block-device-mappings '[{"DeviceName":"/dev/sda1","Ebs":{"SnapshotId":"'"$SNAPSHOT_ID"'","VolumeSize":1,"VolumeType":"gp2","DeleteOnTermination":true}}]'`,
		`aws ec2 run-instances --region us-east-1 --profile dev --image-id "$IMAGE_ID" --instance-type m3.medium --count 1 --subnet-id subnet-1 --security-group-ids sg-1 --key-name 'my key' --instance-initiated-shutdown-behavior terminate`,
		`aws ec2 terminate-instances --region us-east-1 --profile dev --instance-ids "$INSTANCE_ID"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "boot-mode") {
		t.Error("a boot mode for a paravirtual image")
	}
	// The script is valid shell.
	if sh, err := exec.LookPath("sh"); err == nil {
		cmd := exec.Command(sh, "-n")
		cmd.Stdin = strings.NewReader(s)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sh -n: %v\n%s\n%s", err, out, s)
		}
	}

	var h bytes.Buffer
	if err := hvmJob(nil).Script(&h, ec2launch.ScriptOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--virtualization-type hvm --boot-mode legacy-bios --no-ena-support --root-device-name /dev/xvda", `"VolumeType":"gp3"`} {
		if !strings.Contains(h.String(), want) {
			t.Errorf("HVM script lacks %q:\n%s", want, h.String())
		}
	}
	if strings.Contains(h.String(), "run-instances") {
		t.Error("run-instances without -r")
	}
	if err := hvmJob(&ec2launch.RunOptions{InstanceType: "c5.large"}).Script(&h, ec2launch.ScriptOptions{}); err == nil {
		t.Error("a script for a Nitro instance type")
	}
}

// The per-service endpoint variables win over AWS_ENDPOINT_URL, and a
// named profile's region is used.
func TestConfigurationChain(t *testing.T) {
	srv := awsfake.New(t)
	srv.Env(t)
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ENDPOINT_URL_EBS", srv.URL)
	t.Setenv("AWS_ENDPOINT_URL_EC2", srv.URL)
	c, err := ec2launch.NewClients(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	img := volume()
	if _, err := runner(c, nil).Run(context.Background(), pvJob(nil), bytes.NewReader(img), int64(len(img)), false); err != nil {
		t.Fatalf("per-service endpoints not used: %v", err)
	}

	cfg := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(cfg, []byte("[profile far]\nregion = ap-southeast-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfg)
	t.Setenv("AWS_REGION", "")
	c, err = ec2launch.NewClients(context.Background(), "", "far")
	if err != nil || c.Region != "ap-southeast-2" {
		t.Errorf("profile far: region %q, %v", c.Region, err)
	}
	c, err = ec2launch.NewClients(context.Background(), "sa-east-1", "far")
	if err != nil || c.Region != "sa-east-1" {
		t.Errorf("--region over the profile: region %q, %v", c.Region, err)
	}
}

// A PV kernel powers off at exit; EC2 may publish the console's last lines
// only after the instance has stopped.
func TestFollowMarkersAfterStop(t *testing.T) {
	srv := awsfake.New(t)
	c := clients(t, srv)
	srv.Console = func(id string, n int) string {
		switch {
		case n < 3:
			return "rumprun booting\n"
		case n == 3:
			srv.SetInstanceState(id, "stopped")
			return "rumprun booting\n"
		case n < 6:
			return "rumprun booting\n"
		}
		return "rumprun booting\n=== _exit(0) called ===\n"
	}
	var console bytes.Buffer
	res, err := runner(c, &console).Run(context.Background(), pvJob(&ec2launch.RunOptions{InstanceType: "m1.small"}), bytes.NewReader(volume()), int64(len(volume())), true)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Outcome.Exited || res.Outcome.Status != 0 || console.String() != "rumprun booting\n=== _exit(0) called ===\n" {
		t.Errorf("outcome %+v, console %q", res.Outcome, console.String())
	}
}
