// Command rump-launch-qemu runs a rumprun unikernel in QEMU like a program:
// console on standard output, the program's exit status as its own.
// See man/rump-launch-qemu.1.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/rumptools/rumptools/internal/cli"
	"github.com/rumptools/rumptools/pkg/launch"
	"github.com/rumptools/rumptools/pkg/launch/qemu"
)

const usage = `usage: rump-launch-qemu [-n] [-i | -d [--log FILE]] [-c CFG] [-M MB] [-N HOSTNAME] [--name NAME]
                        [-I GUESTIF[=BACKEND]]... [-b FILE[,MOUNTPOINT]]... [-e NAME=VALUE]...
                        [-g 'QEMU ARGS']... [-D PORT] [-p] [--accel A[:B]] [--protocol P]
                        [--config-via V] KERNEL [INITRD] [-- ARGS...]

Boots KERNEL (a rumprun hw kernel) in QEMU with the console on standard
output and exits with the program's exit status.

  -n              print the QEMU command (one shell command) and run nothing
  -i              console on standard output, exit with the program's status
                  (the default)
  -d              run in the background, console in the log file; prints qemu:PID
  --log FILE      console log file for -d (default NAME.log)
  -c CFG          json.cfg to use ("-": standard input); default: the
                  initrd's /json.cfg, else an empty config
  -M MB           guest memory in MiB (default 64)
  -I GUESTIF[=BACKEND]
                  attach guest interface GUESTIF (vioifN: virtio-net, wmN:
                  e1000); BACKEND is user[,OPTS] (default), tap:IFNAME,
                  bridge:BR, or raw -netdev options (TYPE,OPTS); mac=ADDR
                  sets the address
  -b FILE[,MOUNTPOINT]
                  attach a disk image as /dev/ldNa (N in -b order); ISO
                  images read-only; mounted at MOUNTPOINT or /mnt/ldNa
  -e NAME=VALUE   set an environment variable in the config
  -N HOSTNAME     set the guest's hostname in the config (and so the machine
                  name, unless --name)
  --name NAME     machine name only, for MAC addresses and QEMU (default: the
                  hostname, else the kernel's file name without extension)
  -g 'QEMU ARGS'  raw QEMU arguments, split like shell words, appended last
  -D PORT         gdb stub on TCP port PORT
  -p              start paused (continue from gdb or the QEMU monitor)
  --accel A[:B]   accelerators in order of preference (default kvm:tcg;
                  kvm is skipped when /dev/kvm is not usable)
  --protocol P    boot protocol: rumprun or initrd/1 (default: from the kernel)
  --config-via V  rumprun protocol: cmdline or module (default: cmdline,
                  module when the command line would be too long)
  ARGS            the program's argv after argv[0], exactly as given
`

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "rump-launch-qemu: "+format+"\n", args...)
		return 1
	}
	usageErr := func(format string, args ...any) int {
		return cli.Exit("rump-launch-qemu", usage, cli.Usagef(format, args...), stdout, stderr)
	}

	fs := flag.NewFlagSet("rump-launch-qemu", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o launch.Options
	var qo qemu.Options
	var ifs, disks, envs, raw cli.Strings
	dryRun := fs.Bool("n", false, "")
	attach := fs.Bool("i", false, "")
	fs.StringVar(&o.ConfigFile, "c", "", "")
	fs.IntVar(&o.MemoryMiB, "M", 0, "")
	fs.Var(&ifs, "I", "")
	fs.Var(&disks, "b", "")
	fs.Var(&envs, "e", "")
	fs.StringVar(&o.Hostname, "N", "", "")
	fs.Var(&raw, "g", "")
	fs.IntVar(&qo.GDBPort, "D", 0, "")
	fs.BoolVar(&qo.Paused, "p", false, "")
	fs.BoolVar(&qo.Background, "d", false, "")
	fs.StringVar(&qo.LogFile, "log", "", "")
	accel := fs.String("accel", "kvm:tcg", "")
	fs.StringVar(&o.Protocol, "protocol", "", "")
	fs.StringVar(&qo.ConfigVia, "config-via", "", "")
	fs.StringVar(&o.Name, "name", "", "")

	// Everything after the first "--" is the program's argv, untouched.
	pos, args, err := cli.Parse(fs, argv)
	if err != nil {
		return cli.Exit("rump-launch-qemu", usage, err, stdout, stderr)
	}
	o.Args = args
	switch {
	case len(pos) == 0:
		return usageErr("no kernel given")
	case len(pos) > 2:
		return usageErr("unexpected argument %q: program arguments go after --", pos[2])
	}
	o.Kernel = pos[0]
	if len(pos) == 2 {
		o.Initrd = pos[1]
	}
	if o.MemoryMiB < 0 {
		return usageErr("-M %d: want a size in MiB", o.MemoryMiB)
	}
	if qo.GDBPort < 0 || qo.GDBPort > 65535 {
		return usageErr("-D %d: want a TCP port (1 to 65535)", qo.GDBPort)
	}
	if *attach && qo.Background {
		return usageErr("-i and -d exclude each other: -i keeps the console on standard output, -d runs QEMU in the background")
	}
	if qo.LogFile != "" && !qo.Background {
		return usageErr("--log is for -d (in the foreground the console is standard output)")
	}
	if qo.LogFile == "-" {
		return usageErr("--log -: a guest in the background writes its console to a file, and standard output is not one to keep; for the console on standard output run without -d")
	}
	o.Interfaces, o.Disks, o.Env, o.Stdin = ifs, disks, envs, stdin
	for _, g := range raw {
		words, err := qemu.SplitArgs(g)
		if err != nil {
			return fail("-g %v", err)
		}
		qo.Extra = append(qo.Extra, words...)
	}
	if qo.Accel, err = qemu.Accel(*accel, qemu.KVM); err != nil {
		return fail("%v", err)
	}

	plan, warnings, err := launch.New(o, qemu.Target)
	for _, w := range warnings {
		fmt.Fprintln(stderr, w)
	}
	if err != nil {
		return cli.Fail("rump-launch-qemu", err, stderr)
	}
	if qo.Background && qo.LogFile == "" {
		qo.LogFile = plan.Name + ".log"
	}
	cmd, err := qemu.Build(plan, qo)
	if err != nil {
		return fail("%v", err)
	}
	if *dryRun {
		fmt.Fprintln(stdout, cmd.Shell())
		return 0
	}

	res, err := qemu.Run(cmd, stdout, stderr)
	if err != nil {
		return fail("%v", err)
	}
	if qo.Background {
		fmt.Fprintf(stdout, "qemu:%d\n", res.PID)
		return 0
	}
	code, msg := res.Exit(cmd.Path)
	if msg != "" {
		fail("%s", msg)
	}
	return code
}
