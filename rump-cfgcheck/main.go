// Command rump-cfgcheck checks json.cfg files (canonical or rumprun
// dialect, or the /json.cfg of an initrd) and prints them in canonical or
// wire form. See rump-cfgcheck(1).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/rumptools/rumptools/internal/cli"
	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/config/schema"
	"github.com/rumptools/rumptools/pkg/kernel"
)

const usage = `usage: rump-cfgcheck [-v] [-t target] [-k kernel] [-p | -w] [file ...]

Checks json.cfg files (canonical JSON or the rumprun dialect; an initrd is
checked through its /json.cfg). No file, or -, reads standard input.
Silent and exit 0 when valid; warnings and errors go to standard error as
file:line:col: message.

  -t target   also check for a target: qemu, xen, ec2, gce or iso
  -k kernel   also check against a kernel's bake record (drivers, programs);
              without -t the target follows the kernel (hw: qemu, xen: xen)
  -p          print the canonical form to standard output
  -w          print the wire form (what rumprun kernels read) to standard output
  -v          with -t or -k: print how each interface and disk maps to the
              target's host side, and the wire form's size
  -h          print this help
`

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rump-cfgcheck", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	target := fs.String("t", "", "")
	kpath := fs.String("k", "", "")
	canon := fs.Bool("p", false, "")
	wire := fs.Bool("w", false, "")
	verbose := fs.Bool("v", false, "")
	usageErr := func(format string, args ...any) int {
		return cli.Exit("rump-cfgcheck", usage, cli.Usagef(format, args...), stdout, stderr)
	}
	// Options may come before and after the files; after "--" everything
	// is a file.
	files, rest, err := cli.Parse(fs, args)
	if err != nil {
		return cli.Exit("rump-cfgcheck", usage, err, stdout, stderr)
	}
	files = append(files, rest...)
	if *canon && *wire {
		return usageErr("-p and -w cannot be used together")
	}
	var t config.Target
	if *target != "" {
		var err error
		if t, err = config.ParseTarget(*target); err != nil {
			return usageErr("-t: %v", err)
		}
	}
	var k *kernel.Kernel
	if *kpath != "" {
		var err error
		if k, err = kernel.Open(*kpath); err != nil {
			fmt.Fprintf(stderr, "rump-cfgcheck: %v\n", err)
			return 1
		}
		if t == "" {
			t = config.QEMU
			if k.Platform == kernel.PlatformXen {
				t = config.Xen
			}
		}
	}
	if *verbose && t == "" {
		return usageErr("-v shows how a config maps to a target's host side: give -t target or -k kernel")
	}
	// The mapping table is what the user asked to read: standard output,
	// unless that carries a config for a pipe.
	table := stdout
	if *canon || *wire {
		table = stderr
	}

	if len(files) == 0 {
		files = []string{"-"}
	}
	status := 0
	for _, name := range files {
		if !check(name, stdin, stdout, stderr, table, t, k, *canon, *wire, *verbose) {
			status = 1
		}
	}
	return status
}

// check handles one file and reports whether it is valid.
func check(name string, stdin io.Reader, stdout, stderr, table io.Writer, t config.Target, k *kernel.Kernel, canon, wire, verbose bool) bool {
	r, label := stdin, cli.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "rump-cfgcheck: %v\n", err)
			return false
		}
		defer f.Close()
		r, label = f, name
	}
	data, label, err := config.Load(label, r)
	if err != nil {
		fmt.Fprintf(stderr, "rump-cfgcheck: %v\n", err)
		return false
	}
	// The checker of record: Parse, and gojsonschema over the same document.
	c, warns, err := schema.Check(label, data)
	for _, w := range warns {
		fmt.Fprintln(stderr, w)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return false
	}
	ok := true
	if t != "" {
		for _, d := range c.CheckTarget(t, k) {
			fmt.Fprintln(stderr, d)
			ok = ok && d.Warning
		}
		if verbose {
			printTable(table, label, t, c, k)
		}
	}
	if !ok {
		return false
	}
	switch {
	case canon:
		b, err := c.Canonical()
		if err != nil {
			fmt.Fprintf(stderr, "rump-cfgcheck: %v\n", err)
			return false
		}
		stdout.Write(b)
	case wire:
		b, err := c.Wire()
		if err != nil {
			fmt.Fprintln(stderr, err)
			return false
		}
		// The newline ends the line for a terminal; it is not part of the form.
		stdout.Write(append(b, '\n'))
	}
	return true
}

func printTable(w io.Writer, label string, t config.Target, c *config.Config, k *kernel.Kernel) {
	fmt.Fprintf(w, "%s on %s:\n", label, t)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	if c.Net == nil {
		fmt.Fprintf(tw, "  net\t(absent)\tDHCP on every interface the launcher attaches\n")
	}
	if c.Blk == nil {
		fmt.Fprintf(tw, "  blk\t(absent)\tevery disk the launcher attaches mounted at /mnt/<device>\n")
	}
	for _, m := range c.HostMap(t, k) {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", m.Pointer, m.Guest, m.Host)
	}
	if b, err := c.Wire(); err == nil {
		fmt.Fprintf(tw, "  wire\t%d bytes\n", len(b))
	}
	tw.Flush()
}
