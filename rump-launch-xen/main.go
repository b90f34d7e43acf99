// Command rump-launch-xen runs a rumprun unikernel as a Xen domain with xl:
// it writes the xl config, creates the domain paused, hands the kernel its
// config, and unpauses it; -n prints all of that as a shell script.
// See man/rump-launch-xen.1.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rumptools/rumptools/internal/cli"
	"github.com/rumptools/rumptools/pkg/kernel"
	"github.com/rumptools/rumptools/pkg/launch"
	"github.com/rumptools/rumptools/pkg/launch/xen"
)

const usage = `usage: rump-launch-xen [-n] [-i | -d | -p] [--rm] [-c CFG] [-M MB] [-N HOSTNAME] [--name NAME]
                       [-I GUESTIF[=VIFSPEC]]... [-b FILE[,MOUNTPOINT]]... [-e NAME=VALUE]...
                       [-x 'KEY = VALUE']... [-s DIR] [--protocol P] KERNEL [INITRD] [-- ARGS...]

Runs KERNEL as a Xen domain: a Xen PV kernel (xen_pv) as a PV guest, an hw
kernel as an HVM guest with direct kernel boot.

  -n              print a shell script that does the same (the xl config as a
                  here-document, then the commands) and run nothing
  -i              attach the console; exit with the program's exit status
                  and destroy the domain when it ends
  -d              leave the domain running and print xen:NAME (the default)
  -p              leave the domain paused once created, with its config
                  (xl unpause NAME starts it); prints xen:NAME
  --rm            on_poweroff and on_crash "destroy" (default "preserve")
  -c CFG          json.cfg to use ("-": standard input); default: the
                  initrd's /json.cfg, else an empty config
  -M MB           guest memory in MiB (default 64)
  -N HOSTNAME     set the guest's hostname in the config (and so the domain
                  name, unless --name)
  --name NAME     domain name only (default: the hostname, else the
                  kernel's file name without extension)
  -I GUESTIF[=VIFSPEC]
                  attach guest interface GUESTIF (PV: xenifN, HVM: wmN) as
                  a vif; VIFSPEC is bridge:BR or xl vif options
                  (bridge=BR,mac=ADDR,vifname=NAME,...); default bridge xenbr0
  -b FILE[,MOUNTPOINT]
                  attach a disk image (PV only) as etfs device xvdX (X in -b
                  order); mounted at MOUNTPOINT or /mnt/xvdX
  -e NAME=VALUE   set an environment variable in the config
  -x 'KEY = VALUE'
                  add an xl config line (xl.cfg syntax); it replaces the
                  generated setting of the same key
  -s DIR          state directory for the xl file (default
                  $XDG_RUNTIME_DIR/rump-launch-xen)
  --protocol P    boot protocol: rumprun or initrd/1 (default: from the kernel)
  ARGS            the program's argv after argv[0], exactly as given
`

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "rump-launch-xen: "+format+"\n", args...)
		return 1
	}
	usageErr := func(format string, args ...any) int {
		return cli.Exit("rump-launch-xen", usage, cli.Usagef(format, args...), stdout, stderr)
	}

	fs := flag.NewFlagSet("rump-launch-xen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o launch.Options
	var xo xen.Options
	var ifs, disks, envs, extra cli.Strings
	dryRun := fs.Bool("n", false, "")
	interactive := fs.Bool("i", false, "")
	detach := fs.Bool("d", false, "")
	fs.BoolVar(&xo.Destroy, "rm", false, "")
	fs.BoolVar(&xo.Paused, "p", false, "")
	fs.StringVar(&o.ConfigFile, "c", "", "")
	fs.IntVar(&o.MemoryMiB, "M", 0, "")
	fs.StringVar(&o.Hostname, "N", "", "")
	fs.StringVar(&o.Name, "name", "", "")
	fs.Var(&ifs, "I", "")
	fs.Var(&disks, "b", "")
	fs.Var(&envs, "e", "")
	fs.Var(&extra, "x", "")
	stateDir := fs.String("s", "", "")
	fs.StringVar(&o.Protocol, "protocol", "", "")

	// Everything after the first "--" is the program's argv, untouched.
	pos, args, err := cli.Parse(fs, argv)
	if err != nil {
		return cli.Exit("rump-launch-xen", usage, err, stdout, stderr)
	}
	o.Args = args
	switch {
	case len(pos) == 0:
		return usageErr("no kernel given")
	case len(pos) > 2:
		return usageErr("unexpected argument %q: program arguments go after --", pos[2])
	case o.MemoryMiB < 0:
		return usageErr("-M %d: want a size in MiB", o.MemoryMiB)
	case *interactive && *detach:
		return usageErr("-i and -d exclude each other: -i attaches the console, -d leaves the domain running")
	case *interactive && xo.Paused:
		return usageErr("-i and -p exclude each other: -i runs the domain with its console, -p leaves it paused")
	}
	o.Kernel = pos[0]
	if len(pos) == 2 {
		o.Initrd = pos[1]
	}
	o.Interfaces, o.Disks, o.Env, o.Stdin = ifs, disks, envs, stdin
	xo.Extra = extra
	for _, line := range extra {
		if _, err := xen.ParseExtra(line); err != nil {
			return fail("%v", err)
		}
	}

	k, err := kernel.Options{NoToolchain: true}.Open(o.Kernel) // the toolchain strings are not needed here
	if err != nil {
		return fail("%v", err)
	}
	target, err := xen.TargetFor(k)
	if err != nil {
		return fail("%s: %v", o.Kernel, err)
	}
	if err := xen.CheckArgs(target, ifs, disks); err != nil {
		return fail("%v", err)
	}
	plan, warnings, err := launch.New(o, target)
	for _, w := range warnings {
		fmt.Fprintln(stderr, w)
	}
	if err != nil {
		return cli.Fail("rump-launch-xen", err, stderr)
	}
	dom, notes, err := xen.Render(plan, xo)
	if err != nil {
		return fail("%v", err)
	}
	for _, n := range notes {
		fmt.Fprintf(stderr, "rump-launch-xen: warning: %s\n", n)
	}
	file := dom.File(xen.StateDir(*stateDir))

	if *dryRun {
		script, err := dom.Script(file, *interactive)
		if err != nil {
			return fail("%v", err)
		}
		stdout.Write(script)
		return 0
	}

	if err := dom.WriteFile(file); err != nil {
		return fail("%v", err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(stop)
	res, err := dom.Run(&xen.Runner{Stdin: stdin, Stdout: stdout, Stderr: stderr, Stop: stop}, file, *interactive)
	if err != nil {
		os.Remove(file)
		return fail("%v", err)
	}
	code, msg := res.Exit()
	if msg != "" {
		fail("%s", msg)
	}
	return code
}
