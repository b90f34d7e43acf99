// Command rump-initrd writes an initrd: a newc cpio archive, optionally
// gzip-compressed, of directory trees, files, a file list and a
// gen_init_cpio spec, with a validated /json.cfg. With -t it lists one.
// See rump-initrd(1).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/rumptools/rumptools/internal/cli"
	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/initrd"
)

const usage = `usage: rump-initrd [-0] [-p] [-v] [-z] [-c json.cfg] [-o file] [-s spec]... [SRC[:DST] | -]...
       rump-initrd -t file

Write a newc cpio initrd to standard output (or -o file) from:
  SRC[:DST]   a directory tree (its contents at DST, default the root) or a
              file (at DST, default its base name); the last ':' splits
  -           a file list on standard input, one path a line, as find prints
              it for "cpio -o" (with -0: NUL-separated, as find -print0)
  -s spec     a gen_init_cpio spec (file, dir, nod, slink, pipe, sock lines)
  -c json.cfg a config, validated and stored in canonical form as /json.cfg
Later sources override earlier ones: the SRC arguments in order, then the
specs, then the config.

  -0          the file list is NUL-separated
  -c file     validate this json.cfg and store it as /json.cfg
  -o file     write the archive to file, atomically (default: standard output)
  -p          keep owners and times from the source (default: uid/gid 0,
              mtime $SOURCE_DATE_EPOCH or 0)
  -s file     add a gen_init_cpio spec (repeatable)
  -t file     list the entries of an initrd (plain or gzip) like cpio -tvn
  -v          say which source overrides which
  -z          compress with gzip (in parallel, reproducibly)
  -h          print this help
`

func main() {
	if os.Getenv("GOGC") == "" {
		// The live heap is small (the plan of entries, the gzip blocks in
		// flight) and garbage is mostly gzip buffers: collecting at 50%
		// growth instead of 100% cuts the peak RSS by a fifth (measured
		// with -z on 20,000 files: 31 to 25 MiB) at no measurable cost.
		debug.SetGCPercent(50)
	}
	os.Exit(realMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// realMain runs the tool and returns its exit status: 0 success, 1
// failure or invalid input, 2 usage error.
func realMain(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := run(argv, stdin, stdout, stderr)
	var cerr config.ErrorList
	var ue cli.UsageError
	if err != nil && !errors.Is(err, flag.ErrHelp) && !errors.As(err, &ue) && !errors.As(err, &cerr) {
		// The tool's name says it already.
		err = errors.New(strings.TrimPrefix(err.Error(), "initrd: "))
	}
	return cli.Exit("rump-initrd", usage, err, stdout, stderr)
}

func run(argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rump-initrd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		cfgFile, outFile, listFile string
		specFiles                  cli.Strings
		preserve, verbose, gz, nul bool
	)
	fs.StringVar(&cfgFile, "c", "", "")
	fs.StringVar(&outFile, "o", "-", "")
	fs.StringVar(&listFile, "t", "", "")
	fs.Var(&specFiles, "s", "")
	fs.BoolVar(&preserve, "p", false, "")
	fs.BoolVar(&verbose, "v", false, "")
	fs.BoolVar(&gz, "z", false, "")
	fs.BoolVar(&nul, "0", false, "")

	// Accept flags after operands too ("rump-initrd rootfs -z"), up to "--".
	args, rest, err := cli.Parse(fs, argv)
	if err != nil {
		return err
	}
	args = append(args, rest...)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	if set["t"] {
		if len(set) > 1 || len(args) > 0 {
			return cli.Usagef("-t takes only the file to list")
		}
		return list(listFile, stdin, stdout)
	}
	if len(args) == 0 && len(specFiles) == 0 && cfgFile == "" {
		return cli.Usagef("nothing to archive: give a SRC, -, -s spec or -c json.cfg")
	}
	stdinUsers := 0
	for _, a := range append(append(append([]string(nil), args...), specFiles...), cfgFile) {
		if a == "-" {
			stdinUsers++
		}
	}
	if stdinUsers > 1 {
		return cli.Usagef("standard input can feed only one of -, -s - and -c -")
	}

	epoch, err := cli.SourceDateEpoch(time.Unix(0, 0), 1<<32-1, "newc")
	if err != nil {
		return err
	}
	opts := initrd.Options{Preserve: preserve, Mtime: epoch.Unix(), Gzip: gz,
		Warn: func(msg string) { fmt.Fprintf(stderr, "rump-initrd: warning: %s\n", msg) }}
	if verbose {
		opts.Verbose = func(msg string) { fmt.Fprintf(stderr, "rump-initrd: %s\n", msg) }
	}
	b := initrd.NewBuilder(opts)
	for _, a := range args {
		if a == "-" {
			sep := byte('\n')
			if nul {
				sep = 0
			}
			err = b.AddList(stdin, cli.Stdin, sep)
		} else {
			src, dst := a, ""
			if i := strings.LastIndexByte(a, ':'); i >= 0 {
				src, dst = a[:i], a[i+1:]
			}
			if src == "" {
				return cli.Usagef("%q: no source before ':'", a)
			}
			err = b.AddPath(src, dst)
		}
		if err != nil {
			return err
		}
	}
	for _, s := range specFiles {
		if err := withInput(s, stdin, func(r io.Reader, name string) error { return b.AddSpec(r, name) }); err != nil {
			return err
		}
	}
	if cfgFile != "" {
		if err := addConfig(b, cfgFile, stdin, stderr); err != nil {
			return err
		}
	}
	return writeOutput(outFile, stdout, b.WriteArchive)
}

func withInput(name string, stdin io.Reader, f func(io.Reader, string) error) error {
	if name == "-" {
		return f(stdin, cli.Stdin)
	}
	file, err := os.Open(name)
	if err != nil {
		return err
	}
	defer file.Close()
	return f(file, name)
}

// addConfig validates a json.cfg and stores its canonical form as
// /json.cfg; warnings go to stderr.
func addConfig(b *initrd.Builder, name string, stdin io.Reader, stderr io.Writer) error {
	var data []byte
	err := withInput(name, stdin, func(r io.Reader, label string) (err error) {
		// config.Parse refuses more; /dev/zero must not fill memory.
		data, err = io.ReadAll(io.LimitReader(r, config.MaxSize+1))
		name = label
		return err
	})
	if err != nil {
		return err
	}
	cfg, warnings, err := config.Parse(name, data)
	for _, w := range warnings {
		fmt.Fprintln(stderr, w)
	}
	if err != nil {
		return err
	}
	cfg.Schema = "" // an editor hint, never sent to a kernel (DESIGN.md 3.1)
	canon, err := cfg.Canonical()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return b.AddData("json.cfg", canon, 0o644, name)
}

func list(name string, stdin io.Reader, stdout io.Writer) error {
	return withInput(name, stdin, func(r io.Reader, _ string) error { return initrd.List(stdout, r) })
}
