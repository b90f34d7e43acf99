// Command rump-launch-ec2 turns a rumprun kernel into an Amazon EC2 machine
// image and, if asked, an instance: it makes the root volume image, uploads
// it as an EBS snapshot with the EBS direct APIs, registers the image, runs
// an instance and follows its console. -n prints all of it and does nothing.
// See man/rump-launch-ec2.1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rumptools/rumptools/internal/cli"
	"github.com/rumptools/rumptools/pkg/atomicfile"
	"github.com/rumptools/rumptools/pkg/bootloader"
	"github.com/rumptools/rumptools/pkg/ebsupload"
	"github.com/rumptools/rumptools/pkg/ec2image"
	"github.com/rumptools/rumptools/pkg/ec2launch"
	"github.com/rumptools/rumptools/pkg/iso9660"
	"github.com/rumptools/rumptools/pkg/kernel"
	"github.com/rumptools/rumptools/pkg/launch"
)

const usage = `usage: rump-launch-ec2 [-n] [-i] [-o FILE] [-c CFG] [-N HOSTNAME] [--name NAME]
                       [-I xenif0] [-e NAME=VALUE]... [-r TYPE [--subnet ID]
                       [--security-group ID]... [--key-name NAME] [--rm]]
                       [--region REGION] [--profile PROFILE] [--kernel-id AKI]
                       [--size GIB] [--volume-type TYPE] [--protocol P] [--poll D]
                       KERNEL [INITRD] [-- ARGS...]

Makes KERNEL into an EC2 machine image: a Xen PV kernel (xen_pv) into a
paravirtual image booted by PV-GRUB from an ext2 root volume, an hw kernel
into an HVM image booted by the BIOS from a hybrid ISO. Prints the image ID
and, with -r, the instance ID.

  -n              print the image layout and every AWS call as aws(1)
                  commands; build, upload and start nothing
  -o FILE         write the volume image to FILE ("-": standard output) and
                  stop: no AWS call
  -i              with -r: follow the console until the program exits and
                  exit with its status
  -c CFG          json.cfg to use ("-": standard input)
  -N HOSTNAME     set the guest's hostname in the config (and so the machine
                  name, unless --name)
  --name NAME     machine name only (image name prefix and Name tag;
                  default: the hostname, else the kernel's file name
                  without extension)
  -I xenif0       configure the instance's primary network interface (Xen PV
                  kernels) with DHCP when the config has no "net"
  -e NAME=VALUE   set an environment variable in the config
  -r TYPE         run an instance of TYPE (Xen types only: m3.medium, t1.micro
                  for PV images; t2.micro, m4.large, ... for HVM images)
  --subnet ID     the instance's subnet (default: the default VPC's)
  --security-group ID
                  a security group of the instance (repeatable)
  --key-name NAME the key pair of the instance
  --rm            terminate the instance when the guest powers off, and
                  after its program has exited (-i) or on failure
  --region REGION AWS region (default: AWS_REGION or the profile's)
  --profile NAME  AWS shared configuration profile
  --kernel-id AKI PV-GRUB kernel image (default: Amazon's hd0 PV-GRUB of the
                  region)
  --size GIB      root volume size in GiB (default: 1, or what the image needs)
  --volume-type T EBS volume type of the root volume (default gp2)
  --protocol P    boot protocol: rumprun or initrd/1 (default: from the kernel)
  --poll D        time between looks at the snapshot, image, instance and
                  console (default 5s)
  ARGS            the program's argv after argv[0], exactly as given
`

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// settings are the command line beyond launch.Options.
type settings struct {
	dryRun, follow, terminate bool
	output                    string
	instanceType, subnet, key string
	groups                    []string
	region, profile, aki      string
	sizeGiB                   int64
	volumeType                string
	poll                      time.Duration
}

func run(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "rump-launch-ec2: "+format+"\n", args...)
		return 1
	}
	usageErr := func(format string, args ...any) int {
		return cli.Exit("rump-launch-ec2", usage, cli.Usagef(format, args...), stdout, stderr)
	}

	fs := flag.NewFlagSet("rump-launch-ec2", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o launch.Options
	var s settings
	var ifs, envs, groups cli.Strings
	fs.BoolVar(&s.dryRun, "n", false, "")
	fs.BoolVar(&s.follow, "i", false, "")
	fs.StringVar(&s.output, "o", "", "")
	fs.StringVar(&o.ConfigFile, "c", "", "")
	fs.StringVar(&o.Hostname, "N", "", "")
	fs.StringVar(&o.Name, "name", "", "")
	fs.Var(&ifs, "I", "")
	fs.Var(&envs, "e", "")
	fs.StringVar(&s.instanceType, "r", "", "")
	fs.StringVar(&s.subnet, "subnet", "", "")
	fs.Var(&groups, "security-group", "")
	fs.StringVar(&s.key, "key-name", "", "")
	fs.BoolVar(&s.terminate, "rm", false, "")
	fs.StringVar(&s.region, "region", "", "")
	fs.StringVar(&s.profile, "profile", "", "")
	fs.StringVar(&s.aki, "kernel-id", "", "")
	fs.Int64Var(&s.sizeGiB, "size", 0, "")
	fs.StringVar(&s.volumeType, "volume-type", "", "")
	fs.StringVar(&o.Protocol, "protocol", "", "")
	fs.DurationVar(&s.poll, "poll", ec2launch.DefaultPoll, "")

	// Everything after the first "--" is the program's argv, untouched.
	pos, args, err := cli.Parse(fs, argv)
	if err != nil {
		return cli.Exit("rump-launch-ec2", usage, err, stdout, stderr)
	}
	o.Args = args
	s.groups = groups
	switch {
	case len(pos) == 0:
		return usageErr("no kernel given")
	case len(pos) > 2:
		return usageErr("unexpected argument %q: program arguments go after --", pos[2])
	case s.sizeGiB < 0 || s.sizeGiB > ebsupload.MaxVolumeSize:
		return usageErr("--size %d: want 1 to %d GiB", s.sizeGiB, ebsupload.MaxVolumeSize)
	case s.follow && s.instanceType == "":
		return usageErr("-i follows an instance's console: give -r TYPE")
	case s.instanceType == "" && (s.subnet != "" || len(s.groups) > 0 || s.key != "" || s.terminate):
		return usageErr("--subnet, --security-group, --key-name and --rm are for the instance: give -r TYPE")
	case s.poll <= 0:
		return usageErr("--poll %v: want a positive duration", s.poll)
	case s.output != "" && s.instanceType != "":
		return usageErr("-o writes only the image; -r needs the image uploaded (leave out -o)")
	}
	o.Kernel = pos[0]
	if len(pos) == 2 {
		o.Initrd = pos[1]
	}
	o.Env, o.Stdin = envs, stdin
	for _, arg := range ifs {
		name, _, hasBackend := strings.Cut(arg, "=")
		if hasBackend {
			return fail("-I %s: EC2 attaches the instance's primary network interface itself; there is no backend to choose (write -I %s)", arg, name)
		}
		o.Interfaces = append(o.Interfaces, name)
	}

	k, err := kernel.Options{NoToolchain: true}.Open(o.Kernel) // the toolchain strings are not needed here
	if err != nil {
		return fail("%v", err)
	}
	target, virt, err := ec2launch.TargetFor(k)
	if err != nil {
		return fail("%s: %v", o.Kernel, err)
	}
	if virt == ec2launch.Paravirtual && o.Protocol != launch.ProtocolInitrd && !k.Supports(launch.ProtocolInitrd) {
		if o.Initrd != "" {
			return fail("%s: %s cannot read an initrd (it does not declare %s): PV-GRUB boots it with its config in /json.cfg on the root volume. Bake the files into the kernel",
				o.Initrd, o.Kernel, launch.ProtocolInitrd)
		}
		o.Protocol = launch.ProtocolRumprun
	}
	plan, warnings, err := launch.New(o, target)
	for _, w := range warnings {
		fmt.Fprintln(stderr, w)
	}
	if err != nil {
		return cli.Fail("rump-launch-ec2", err, stderr)
	}
	if err := ec2launch.CheckPlan(plan, virt); err != nil {
		return fail("%v", err)
	}
	t, err := cli.SourceDateEpoch(iso9660.DefaultTime, 1<<31-1, "ext2 (a PV volume)")
	if err != nil {
		return fail("%v", err)
	}

	img, err := newImage(plan, virt, t, s.sizeGiB)
	if err != nil {
		return fail("%v", err)
	}
	if s.output != "" && !s.dryRun {
		if err := img.writeFile(s.output, stdout); err != nil {
			return fail("%v", err)
		}
		return 0
	}

	clients, err := ec2launch.NewClients(context.Background(), s.region, s.profile)
	if err != nil {
		return fail("%v", err)
	}
	job, err := newJob(plan, k, virt, img, clients.Region, s)
	if err != nil {
		return fail("%v", err)
	}
	if err := job.Check(); err != nil {
		return fail("%v", err)
	}
	if virt == ec2launch.HVM && s.follow {
		fmt.Fprintln(stderr, "rump-launch-ec2: warning: hw kernels write their console to the screen when the machine has one, "+
			"as EC2 HVM instances do; EC2 keeps only the serial console, so the program's output and exit may not show")
	}
	if s.dryRun {
		var layout []string
		layout = append(layout, img.describe()...)
		err := job.Script(stdout, ec2launch.ScriptOptions{Profile: s.profile, Layout: layout, Image: s.output, Follow: s.follow})
		if err != nil {
			return fail("%v", err)
		}
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	r := &ec2launch.Runner{
		Clients: clients,
		Console: stdout,
		Log:     func(msg string) { fmt.Fprintf(stderr, "rump-launch-ec2: %s\n", msg) },
		IDs:     func(id string) { fmt.Fprintln(stdout, id) },
	}
	r.Poll = s.poll
	r.Upload.Progress = progress(stderr)
	data, size, cleanup, err := img.open()
	if err != nil {
		return fail("%v", err)
	}
	defer cleanup()
	res, err := r.Run(ctx, job, data, size, s.follow)
	if err != nil {
		if res != nil && res.ImageID != "" && res.InstanceID == "" {
			fmt.Fprintf(stderr, "rump-launch-ec2: image %s was registered\n", res.ImageID)
		}
		return fail("%v", err)
	}
	if res.Outcome != nil {
		if res.Outcome.BootstrapFailed != "" {
			return fail("%s: %s", res.InstanceID, res.Outcome.BootstrapFailed)
		}
		return launch.ExitCode(res.Outcome.Status)
	}
	return 0
}

// volume is the image of either kind, made to order.
type volume struct {
	virt ec2launch.Virtualization
	pv   *ec2image.PV
	hw   *ec2image.HW
	iso  *iso9660.Image
	size int64 // bytes
	// initrd says what a PV volume's /boot/initrd holds, for -n.
	initrd string
}

func newImage(plan *launch.Plan, virt ec2launch.Virtualization, t time.Time, sizeGiB int64) (*volume, error) {
	v := &volume{virt: virt}
	if virt == ec2launch.Paravirtual {
		if sizeGiB == 0 {
			sizeGiB = 1
		}
		v.pv = &ec2image.PV{Kernel: plan.Kernel, Title: plan.Name, Size: sizeGiB << 30, Time: t}
		if plan.Protocol == launch.ProtocolInitrd {
			m, err := bootloader.Module(plan, t)
			if err != nil {
				return nil, err
			}
			if m.Gzip && m.Appendix != nil {
				// Xen's domain builder decompresses a gzip ramdisk by the
				// size in its last four bytes: a second gzip member would
				// be misread.
				return nil, fmt.Errorf("%s is gzip-compressed, and Xen PV takes one archive or one gzip stream: the changed config cannot be appended to it. "+
					"Put the config in the initrd (rump-initrd -c), or give a plain initrd", plan.Initrd)
			}
			v.pv.Initrd = m
			v.initrd = bootloader.InitrdContents(plan)
		} else {
			wire, err := plan.ConfigText()
			if err != nil {
				return nil, err
			}
			v.pv.Config = wire
		}
		v.size = v.pv.Size
		return v, nil
	}
	v.hw = &ec2image.HW{Plan: plan, Time: t}
	im, err := v.hw.Image()
	if err != nil {
		return nil, err
	}
	v.iso = im
	if v.size, err = im.Size(); err != nil {
		return nil, err
	}
	if sizeGiB != 0 && sizeGiB < ebsupload.VolumeSize(v.size) {
		return nil, fmt.Errorf("--size %d: the image has %d bytes", sizeGiB, v.size)
	}
	return v, nil
}

// volumeGiB is the size of the EBS volume.
func (v *volume) volumeGiB(sizeGiB int64) int64 {
	if sizeGiB != 0 {
		return sizeGiB
	}
	return ebsupload.VolumeSize(v.size)
}

func (v *volume) describe() []string {
	if v.pv != nil {
		files, err := v.pv.Files()
		if err != nil {
			return []string{"error: " + err.Error()}
		}
		for i := range files {
			if files[i].Path == ec2image.InitrdPath {
				files[i].Source = v.initrd
			}
		}
		lines := []string{fmt.Sprintf("Root volume: an ext2 file system of %d MiB, read by PV-GRUB (hd0) from %s:", v.size>>20, ec2launch.RootDevicePV)}
		lines = append(lines, ec2image.Layout(files)...)
		lines = append(lines, "made with: "+strings.Join(append(v.pv.Env(), append([]string{"mke2fs"}, v.pv.MkfsArgs("IMAGE")...)...), " "),
			"then debugfs -w writes the files and sets every owner to 0:0 and every time to the same instant")
		return lines
	}
	lines := []string{fmt.Sprintf("Root volume: a hybrid ISO 9660 image of %d bytes, booted by the BIOS from %s through GRUB:", v.size, ec2launch.RootDeviceHVM)}
	return append(lines, ec2image.Layout(v.hw.Describe(v.iso))...)
}

// writeFile writes the image to dest ("-": w), atomically for a file.
func (v *volume) writeFile(dest string, w io.Writer) error {
	if dest == "-" {
		r, _, cleanup, err := v.open()
		if err != nil {
			return err
		}
		defer cleanup()
		_, err = io.Copy(w, r)
		return err
	}
	if v.pv != nil {
		return v.pv.WriteFile(dest)
	}
	f, err := atomicfile.Create(dest, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := v.iso.WriteTo(f); err != nil {
		return err
	}
	return f.Commit()
}

// open returns the image as a stream: a PV volume is made in a temporary
// file first (mke2fs writes files), an ISO streams as it is laid out.
func (v *volume) open() (io.Reader, int64, func(), error) {
	if v.pv != nil {
		// A work file without a name: nothing is left behind, however the
		// tool ends.
		work := atomicfile.NewWork("rump-launch-ec2-")
		p, err := work.Path("volume.img")
		if err == nil {
			err = v.pv.Make(p)
		}
		var f *os.File
		if err == nil {
			f, err = os.Open(p)
		}
		if err != nil {
			work.Close()
			return nil, 0, nil, err
		}
		return f, v.size, func() { f.Close(); work.Close() }, nil
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := v.iso.WriteTo(pw)
		pw.CloseWithError(err)
	}()
	return pr, v.size, func() { pr.Close() }, nil
}

func newJob(plan *launch.Plan, k *kernel.Kernel, virt ec2launch.Virtualization, img *volume, region string, s settings) (*ec2launch.Job, error) {
	sum, err := kernel.SHA256(plan.Kernel)
	if err != nil {
		return nil, err
	}
	base := filepath.Base(plan.Kernel)
	desc := fmt.Sprintf("rumprun %s kernel %s (%s), by rump-launch-ec2", k.Platform, base, k.Arch())
	if k.Bake != nil && k.Bake.Config != "" {
		desc = fmt.Sprintf("rumprun kernel %s (%s, %s), by rump-launch-ec2", base, k.Bake.Config, k.Arch())
	}
	if len(desc) > 255 { // EC2's limit for image descriptions
		desc = strings.ToValidUTF8(desc[:252], "") + "..."
	}
	j := &ec2launch.Job{
		Region: region, Virt: virt, Arch: k.Arch(), Name: plan.Name, Description: desc,
		VolumeSize: img.volumeGiB(s.sizeGiB), VolumeType: s.volumeType,
		Tags: ec2launch.KernelTags(base, sum, k.Bake),
	}
	if virt == ec2launch.Paravirtual {
		j.KernelID = s.aki
		if j.KernelID == "" && region != "" {
			if j.KernelID, err = ec2launch.KernelID(region, j.Arch); err != nil {
				return nil, err
			}
		}
	} else if s.aki != "" {
		return nil, errors.New("--kernel-id is for Xen PV kernels; an hw kernel's HVM image boots from its own volume")
	}
	if s.instanceType != "" {
		j.Run = &ec2launch.RunOptions{InstanceType: s.instanceType, SubnetID: s.subnet, SecurityGroupIDs: s.groups, KeyName: s.key, Terminate: s.terminate}
	}
	return j, nil
}

// progress reports the upload on a terminal (cli.Progress).
func progress(stderr io.Writer) func(ebsupload.Progress) {
	report := cli.Progress(stderr)
	if report == nil {
		return nil
	}
	return func(p ebsupload.Progress) {
		report(p.Done == p.Total, "rump-launch-ec2: upload %d%%: %d of %d blocks read, %d sent, %d retried ",
			100*p.Done/max(p.Total, 1), p.Done, p.Total, p.Sent, p.Retries)
	}
}
