// Command rump-bake links rumprun application objects into a stamped
// kernel, as rumprun-bake does, and identifies kernels. See rump-bake(1).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/rumptools/rumptools/internal/cli"
	"github.com/rumptools/rumptools/pkg/bake"
	"github.com/rumptools/rumptools/pkg/bake/kside"
	"github.com/rumptools/rumptools/pkg/kernel"
)

const usage = `usage: rump-bake [-n] [-q] [-c FILE]... [-m CMD]... [-C CONFIG] [-T DIR] [--protocol P] -o OUTPUT INPUT...
       rump-bake [-c FILE]... [-T DIR] -l [INPUT...]
       rump-bake [-c FILE]... [-m CMD]... [-T DIR] -d CONFIG [INPUT...]
       rump-bake -i [-j] KERNEL...
       rump-bake [options] CONFIG OUTPUT INPUT...     (rumprun-bake's form)
       rump-bake --stamp JSON [--protocol P] KERNEL
       rump-bake --kside-source FILE [PLATFORM]

Links rumprun application objects (INPUT, at most 8, run in this order)
into one kernel with the toolchain they were compiled with, and stamps it
with a bake record. Without -C it bakes the broadest config of the
toolchain: hw_generic (hw), xen_pv (xen).

  -o OUTPUT  kernel to write ("-": standard output)
  -C CONFIG  config to bake (see -l)
  -c FILE    read another rumprun-bake.conf after the toolchain's (repeatable)
  -m CMD     apply a command (add, remove, assimilate, nuke, create) to the
             chosen config, e.g. -m 'add -lrumpfs_nfs' (repeatable)
  -T DIR     toolchain directory (default: rumprun_tooldir of the inputs)
  --protocol P
             initrd/1: link in the kernel side of the initrd/1 boot protocol
             (the default for hw and xen kernels); rumprun: today's kernel, as
             rumprun-bake links it
  -n         print the commands that would run, as shell, and change nothing
  -q         print nothing on success (no linker warnings, no launch hints)
  -l         list the public configs
  -d CONFIG  print a config's description and components
  -i         identify kernels: format, platform, bake record, toolchain
  -j         with -i: one JSON object per kernel
  --stamp JSON KERNEL
             add a bake record (JSON) to KERNEL in place (what -n prints);
             with --protocol initrd/1 also the note that declares it
  --kside-source FILE [PLATFORM]
             write the kernel side's C source for PLATFORM (hw, the
             default, or xen) to FILE (what -n prints)
  -h         print this help
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	return cli.Exit("rump-bake", usage, runErr(args, stdout, stderr), stdout, stderr)
}

func runErr(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rump-bake", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var confs, mods cli.Strings
	fs.Var(&confs, "c", "")
	fs.Var(&mods, "m", "")
	config := fs.String("C", "", "")
	toolDir := fs.String("T", "", "")
	output := fs.String("o", "", "")
	dryRun := fs.Bool("n", false, "")
	quiet := fs.Bool("q", false, "")
	list := fs.Bool("l", false, "")
	describe := fs.String("d", "", "")
	identify := fs.Bool("i", false, "")
	jsonOut := fs.Bool("j", false, "")
	stamp := fs.String("stamp", "", "")
	ksideSource := fs.String("kside-source", "", "")
	protocolFlag := fs.String("protocol", "", "")
	// Options may come before and after the operands; after "--" every
	// argument is an operand.
	rest, after, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	rest = append(rest, after...)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	modes := 0
	for _, m := range []string{"l", "d", "i", "stamp", "kside-source"} {
		if set[m] {
			modes++
		}
	}
	if modes > 1 {
		return cli.Usagef("-l, -d, -i, --stamp and --kside-source exclude each other")
	}
	if *jsonOut && !*identify {
		return cli.Usagef("-j goes with -i")
	}

	protocol := *protocolFlag
	if set["protocol"] && !set["stamp"] && modes > 0 {
		return cli.Usagef("--protocol goes with a bake or --stamp")
	}
	switch {
	case set["kside-source"]:
		side := kside.HW
		if len(rest) > 1 {
			return cli.Usagef("--kside-source takes one file and, after it, a platform")
		}
		if len(rest) == 1 {
			var ok bool
			if side, ok = kside.ForPlatform(rest[0]); !ok {
				return cli.Usagef("--kside-source: no kernel side for platform %q (want hw or xen)", rest[0])
			}
		}
		return side.WriteFile(*ksideSource)
	case set["stamp"]:
		if len(rest) != 1 {
			return cli.Usagef("--stamp takes the record and one kernel file")
		}
		return stampFile(*stamp, protocol, rest[0])
	case *identify:
		if len(rest) == 0 {
			return cli.Usagef("-i needs at least one kernel")
		}
		return identifyKernels(rest, *jsonOut, stdout, stderr)
	case *list:
		return listConfigs(rest, *toolDir, confs, stdout)
	case set["d"]:
		return describeConfig(*describe, rest, *toolDir, confs, mods, stdout)
	}

	// rumprun-bake's forms: list, describe CONFIG, CONFIG OUTPUT INPUT...
	if !set["o"] && len(rest) > 0 {
		switch {
		case rest[0] == "list" && len(rest) == 1:
			return listConfigs(nil, *toolDir, confs, stdout)
		case rest[0] == "describe" && len(rest) == 2:
			return describeConfig(rest[1], nil, *toolDir, confs, mods, stdout)
		case len(rest) >= 3:
			if set["C"] {
				return cli.Usagef("a config given twice: -C and the first argument (rumprun-bake's CONFIG OUTPUT INPUT... form)")
			}
			*config, *output, rest = rest[0], rest[1], rest[2:]
		}
	}
	if *output == "" {
		return cli.Usagef("no output file: give -o OUTPUT")
	}
	if len(rest) == 0 {
		return cli.Usagef("no input objects")
	}
	plan, err := bake.NewPlan(bake.Options{
		Inputs: rest, Output: *output, Config: *config, ConfFiles: confs, Mods: mods,
		ToolDir: *toolDir, Protocol: protocol,
		StampCommand: selfCommand("--stamp"), SourceCommand: selfCommand("--kside-source"),
	})
	if err != nil {
		return err
	}
	if *dryRun {
		return plan.Script(stdout)
	}
	log := stderr
	if *quiet {
		log = io.Discard
	}
	if err := plan.Run(stdout, log); err != nil {
		return err
	}
	if !*quiet && *output != "-" {
		r := plan.Record
		fmt.Fprintf(stderr, "rump-bake: baked %s: config %s (%s, %s), boot protocol %s, programs %s\n",
			*output, r.Config, r.Platform, r.Arch, plan.Protocol, strings.Join(r.Programs, " "))
		if hints := bake.LaunchHints(*output, r.Platform); len(hints) > 0 {
			fmt.Fprintln(stderr, "rump-bake: launch it with:")
			for _, h := range hints {
				fmt.Fprintln(stderr, "  "+h)
			}
		}
	}
	return nil
}

// selfCommand is how -n output calls this program with option opt: by
// name when PATH finds this very executable, else by its absolute path.
func selfCommand(opt string) []string {
	self, err := os.Executable()
	if err != nil {
		return []string{"rump-bake", opt}
	}
	if p, err := exec.LookPath("rump-bake"); err == nil {
		a, _ := filepath.EvalSymlinks(p)
		b, _ := filepath.EvalSymlinks(self)
		if a != "" && a == b {
			return []string{"rump-bake", opt}
		}
	}
	return []string{self, opt}
}

func stampFile(record, protocol, path string) error {
	var protocols []string
	switch protocol {
	case "", bake.ProtocolRumprun:
	case bake.ProtocolInitrd:
		protocols = []string{protocol}
	default:
		return fmt.Errorf("unknown boot protocol %q (want %s or %s)", protocol, bake.ProtocolRumprun, bake.ProtocolInitrd)
	}
	dec := json.NewDecoder(strings.NewReader(record))
	dec.DisallowUnknownFields()
	var rec kernel.BakeRecord
	if err := dec.Decode(&rec); err != nil {
		return fmt.Errorf("--stamp: bad bake record: %v", err)
	}
	if dec.More() {
		return errors.New("--stamp: bad bake record: text after the JSON object")
	}
	return bake.StampFile(path, &rec, protocols...)
}

func identifyKernels(paths []string, asJSON bool, stdout, stderr io.Writer) error {
	failed := 0
	for _, p := range paths {
		k, err := kernel.Open(p)
		if err != nil {
			fmt.Fprintf(stderr, "rump-bake: %v\n", err)
			failed++
			continue
		}
		if asJSON {
			err = bake.DescribeJSON(stdout, p, k)
		} else {
			err = bake.Describe(stdout, p, k)
		}
		if err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files could not be identified", failed, len(paths))
	}
	return nil
}

// toolchain finds the toolchain for -l and -d: -T, else the inputs' recipe.
func toolchain(inputs []string, toolDir string) (*bake.Toolchain, error) {
	if len(inputs) == 0 {
		if toolDir == "" {
			return nil, cli.Usagef("which toolchain? give -T DIR or an input object")
		}
		return &bake.Toolchain{Dir: toolDir}, nil
	}
	tc, _, err := bake.Discover(inputs, toolDir)
	return tc, err
}

func listConfigs(inputs []string, toolDir string, confs []string, stdout io.Writer) error {
	tc, err := toolchain(inputs, toolDir)
	if err != nil {
		return err
	}
	set, err := tc.LoadConfigs(confs...)
	if err != nil {
		return err
	}
	def, _ := tc.DefaultConfig()
	have := map[string]bool{}
	for _, p := range tc.Platforms() {
		have[p] = true
	}
	width := 0
	for _, c := range set.Public() {
		width = max(width, len(c.Name))
	}
	var b strings.Builder
	for _, c := range set.Public() {
		fmt.Fprintf(&b, "%-*s  %s", width, c.Name, c.Description)
		switch {
		case c.Name == def:
			b.WriteString(" (default)")
		case !have[c.Platform()]:
			fmt.Fprintf(&b, " (no %s platform in this toolchain)", c.Platform())
		}
		b.WriteString("\n")
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}

func describeConfig(name string, inputs []string, toolDir string, confs, mods []string, stdout io.Writer) error {
	tc, err := toolchain(inputs, toolDir)
	if err != nil {
		return err
	}
	set, err := tc.LoadConfigs(confs...)
	if err != nil {
		return err
	}
	c := set.Lookup(name)
	if c == nil {
		var public []string
		for _, p := range set.Public() {
			public = append(public, p.Name)
		}
		return fmt.Errorf("unknown config %q (public configs: %s)", name, strings.Join(public, ", "))
	}
	for i, m := range mods {
		if err := set.Modify(name, m, fmt.Sprintf("-m #%d", i+1)); err != nil {
			return err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", c.Name, c.Description)
	for _, comp := range c.Components {
		b.WriteString(comp + "\n")
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}
