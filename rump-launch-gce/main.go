// Command rump-launch-gce turns a rumprun hw kernel into a Google Compute
// Engine image and instance: it makes the boot disk (the hybrid ISO that
// rump-mkiso lays out, as disk.raw in a sparse tar.gz), uploads it to a
// Cloud Storage bucket, makes an image of it, starts an instance with a
// virtio-net NIC and follows its serial console. -n prints all of it and
// does nothing. See man/rump-launch-gce.1.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/rumptools/rumptools/internal/cli"
	"github.com/rumptools/rumptools/pkg/atomicfile"
	"github.com/rumptools/rumptools/pkg/bootloader"
	"github.com/rumptools/rumptools/pkg/gceimage"
	"github.com/rumptools/rumptools/pkg/gcelaunch"
	"github.com/rumptools/rumptools/pkg/gcsupload"
	"github.com/rumptools/rumptools/pkg/iso9660"
	"github.com/rumptools/rumptools/pkg/kernel"
	"github.com/rumptools/rumptools/pkg/launch"
)

const usage = `usage: rump-launch-gce [-n] [-o FILE] [-i] [--rm] [--rm-image] --project P --zone Z
                       --bucket B [-c CFG] [-N HOSTNAME] [--name NAME] [-I vioif0]
                       [-e NAME=VALUE]... [--machine-type T] [--no-address]
                       [--protocol P] [--poll D] KERNEL [INITRD] [-- ARGS...]

Makes an hw KERNEL into a Google Compute Engine image and starts an
instance of it: the boot disk (GRUB, the kernel and its config, as
rump-mkiso lays them out) as disk.raw in a sparse tar.gz, uploaded to the
bucket; an image made from it; an instance with one virtio-net NIC, vioif0,
which gets DHCP unless the config has "net". Prints the image's and the
instance's names.

  -n              print the disk layout and every call as gcloud commands;
                  upload and start nothing
  -o FILE         write the archive (disk.raw.tar.gz) to FILE ("-": standard
                  output) and stop: no call, no --project, --zone or --bucket
  -i              follow the serial console until the program exits and
                  exit with its status
  --rm            with -i: delete the instance at the end (also on failure
                  or interrupt), and the archive object once the image exists
  --rm-image      with --rm: delete the image too
  --project P     the Google Cloud project of the image and the instance
  --zone Z        the instance's zone, e.g. us-central1-a
  --bucket B      the Cloud Storage bucket the archive is uploaded to
  -c CFG          json.cfg to use ("-": standard input)
  -N HOSTNAME     set the guest's hostname in the config (and so the machine
                  name, unless --name)
  --name NAME     machine name only: the names of the image, the archive
                  object and the instance start with it (default: the
                  hostname, else the kernel's file name without extension)
  -I vioif0       the instance's NIC, attached and configured with DHCP by
                  default; accepted for the other launchers' sake
  -e NAME=VALUE   set an environment variable in the config
  --machine-type T
                  the instance's machine type (default e2-small); families
                  with virtio-net only: e2, n1, f1, g1, n2, n2d, c2, c2d,
                  t2d, m1, m2, a2
  --no-address    no external IPv4 address for the instance
  --protocol P    boot protocol: rumprun or initrd/1 (default: from the kernel)
  --poll D        time between looks at the console (default 5s)
  ARGS            the program's argv after argv[0], exactly as given
`

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "rump-launch-gce: "+format+"\n", args...)
		return 1
	}
	usageErr := func(format string, args ...any) int {
		return cli.Exit("rump-launch-gce", usage, cli.Usagef(format, args...), stdout, stderr)
	}

	fs := flag.NewFlagSet("rump-launch-gce", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o launch.Options
	var j gcelaunch.Job
	var ifs, envs cli.Strings
	var dryRun bool
	var output string
	var poll time.Duration
	fs.BoolVar(&dryRun, "n", false, "")
	fs.StringVar(&output, "o", "", "")
	fs.BoolVar(&j.Follow, "i", false, "")
	fs.BoolVar(&j.Remove, "rm", false, "")
	fs.BoolVar(&j.RemoveImage, "rm-image", false, "")
	fs.StringVar(&j.Project, "project", "", "")
	fs.StringVar(&j.Zone, "zone", "", "")
	fs.StringVar(&j.Bucket, "bucket", "", "")
	fs.StringVar(&o.ConfigFile, "c", "", "")
	fs.StringVar(&o.Hostname, "N", "", "")
	fs.StringVar(&o.Name, "name", "", "")
	fs.Var(&ifs, "I", "")
	fs.Var(&envs, "e", "")
	fs.StringVar(&j.MachineType, "machine-type", gcelaunch.DefaultMachineType, "")
	fs.BoolVar(&j.NoAddress, "no-address", false, "")
	fs.StringVar(&o.Protocol, "protocol", "", "")
	fs.DurationVar(&poll, "poll", gcelaunch.DefaultPoll, "")

	// Everything after the first "--" is the program's argv, untouched.
	pos, args, err := cli.Parse(fs, argv)
	if err != nil {
		return cli.Exit("rump-launch-gce", usage, err, stdout, stderr)
	}
	switch {
	case len(pos) == 0:
		return usageErr("no kernel given")
	case len(pos) > 2:
		return usageErr("unexpected argument %q: program arguments go after --", pos[2])
	case output != "" && !dryRun && (j.Follow || j.Remove || j.RemoveImage):
		return usageErr("-o writes only the archive; -i, --rm and --rm-image are for the instance (leave out -o)")
	case j.RemoveImage && !j.Remove:
		return usageErr("--rm-image removes the image along with the instance: give --rm too")
	case j.Remove && !j.Follow:
		return usageErr("--rm removes the instance once its program has exited: give -i, which follows it there")
	case (output == "" || dryRun) && (j.Project == "" || j.Zone == "" || j.Bucket == ""):
		return usageErr("give --project, --zone and --bucket (or -o FILE to write the archive only)")
	case poll <= 0:
		return usageErr("--poll %v: want a positive duration", poll)
	}
	o.Kernel = pos[0]
	if len(pos) == 2 {
		o.Initrd = pos[1]
	}
	o.Args, o.Env, o.Stdin, o.Interfaces = args, envs, stdin, ifs

	plan, warnings, err := gcelaunch.NewPlan(o)
	for _, w := range warnings {
		fmt.Fprintln(stderr, w)
	}
	if err != nil {
		return cli.Fail("rump-launch-gce", err, stderr)
	}
	t, err := cli.SourceDateEpoch(iso9660.DefaultTime, 1<<32-1, "the generated initrd (newc)")
	if err != nil {
		return fail("%v", err)
	}
	m, err := gcelaunch.NewMedium(plan, t, bootloader.Host{})
	if err != nil {
		return fail("%v", err)
	}
	if output != "" && !dryRun {
		if err := writeArchive(m, output, []string{plan.Kernel, plan.Initrd}, stdout); err != nil {
			return fail("%v", err)
		}
		return 0
	}

	// The names come from the archive's digest: it is written once to
	// learn it, and again when it is uploaded.
	if j.Archive, err = m.Summarize(); err != nil {
		return fail("%v", err)
	}
	sum, err := kernel.SHA256(plan.Kernel)
	if err != nil {
		return fail("%v", err)
	}
	base := filepath.Base(plan.Kernel)
	j.Name, j.DiskGiB = plan.Name, m.Disk.Size/gceimage.GiB
	j.Description = gcelaunch.Description(base, sum, plan.Info)
	j.Labels = gcelaunch.KernelLabels(base, plan.Info.Bake)
	if err := j.Check(); err != nil {
		return fail("%v", err)
	}
	if dryRun {
		if err := j.Script(stdout, gcelaunch.ScriptOptions{Layout: m.Layout(), Archive: output}); err != nil {
			return fail("%v", err)
		}
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	clients, err := gcelaunch.NewClients(ctx, gcelaunch.EndpointsFromEnv())
	if err != nil {
		return fail("%v", err)
	}
	r := &gcelaunch.Runner{
		Clients: clients,
		Poll:    poll,
		Console: stdout,
		Log:     func(msg string) { fmt.Fprintf(stderr, "rump-launch-gce: %s\n", msg) },
		Names:   func(name string) { fmt.Fprintln(stdout, name) },
	}
	r.Upload.Progress = progress(stderr)
	res, err := r.Run(ctx, &j, m.Open)
	if err != nil {
		if res != nil && res.Image != "" && res.Instance == "" {
			fmt.Fprintf(stderr, "rump-launch-gce: image %s exists\n", res.Image)
		}
		return fail("%v", err)
	}
	if res.Outcome != nil {
		if res.Outcome.BootstrapFailed != "" {
			return fail("%s: %s", res.Instance, res.Outcome.BootstrapFailed)
		}
		if !res.Outcome.Exited {
			return fail("%s: the kernel halted without the program's exit status", res.Instance)
		}
		return launch.ExitCode(res.Outcome.Status)
	}
	return 0
}

// writeArchive writes the archive to dest ("-": w), atomically for a
// file, which must not be one of the inputs.
func writeArchive(m *gcelaunch.Medium, dest string, inputs []string, w io.Writer) error {
	if dest == "-" {
		_, err := m.Disk.WriteTo(w)
		return err
	}
	if st, err := os.Stat(dest); err == nil {
		for _, in := range inputs {
			if si, err := os.Stat(in); in != "" && err == nil && os.SameFile(st, si) {
				return fmt.Errorf("%s: the output would replace an input", dest)
			}
		}
	}
	f, err := atomicfile.Create(dest, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := m.Disk.WriteTo(f); err != nil {
		return err
	}
	return f.Commit()
}

// progress reports the upload on a terminal (cli.Progress).
func progress(stderr io.Writer) func(gcsupload.Progress) {
	report := cli.Progress(stderr)
	if report == nil {
		return nil
	}
	return func(p gcsupload.Progress) {
		report(p.Done == p.Total, "rump-launch-gce: upload %d%%: %d of %d bytes, %d retried ",
			100*p.Done/max(p.Total, 1), p.Done, p.Total, p.Retries)
	}
}
