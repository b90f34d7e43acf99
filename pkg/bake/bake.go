package bake

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rumptools/rumptools/pkg/atomicfile"
	"github.com/rumptools/rumptools/pkg/bake/kside"
	"github.com/rumptools/rumptools/pkg/kernel"
	"github.com/rumptools/rumptools/pkg/shellquote"
)

// Version is the version rump-bake writes into bake records.
const Version = "0.1.0"

// Options describe one bake.
type Options struct {
	Inputs    []string // application objects, in program order
	Output    string   // kernel to write; "-" for standard output
	Config    string   // config to bake; "" for the toolchain's default
	ConfFiles []string // extra rumprun-bake.conf files (-c), read after the toolchain's
	Mods      []string // commands applied to the chosen config (-m), in order
	ToolDir   string   // overrides rumprun_tooldir (-T)
	Tool      string   // the "tool" of the bake record; "" for "rump-bake VERSION"

	// Protocol is the boot protocol to give the kernel: ProtocolInitrd
	// (link in the kernel side), ProtocolRumprun (today's kernel), or ""
	// for initrd/1 where the toolchain's hw platform object can take it.
	Protocol string

	// StampCommand is how Script calls the stamp step, the words before
	// the record and the file (e.g. rump-bake --stamp).
	StampCommand []string
	// SourceCommand is how Script writes the kernel side's source, the
	// words before the file (e.g. rump-bake --kside-source).
	SourceCommand []string
}

// Arg is one word of a command: a literal, or (Tmp) the name of a file in
// the bake's temporary directory.
type Arg struct {
	S   string
	Tmp bool
}

// Command is one program the bake runs.
type Command []Arg

// Plan is a bake worked out and ready to run or print.
type Plan struct {
	Toolchain *Toolchain
	Config    *Config
	Inputs    []Input
	Output    string
	Record    kernel.BakeRecord
	Protocol  string // ProtocolRumprun or ProtocolInitrd
	// Sources, when not empty, is the file (in Tmp) that gets the kernel
	// side's source (kside.Source) before the commands run.
	Sources  string
	Commands []Command // [kernel side,] objcopy per input, then the link into Tmp "kernel"
	stampCmd []string
	srcCmd   []string
	side     kside.Side // whose source goes to Sources
}

// NewPlan discovers the toolchain, reads and applies the configs and
// works out the commands of the bake.
func NewPlan(o Options) (*Plan, error) {
	if o.Output == "" {
		return nil, errors.New("no output file")
	}
	tc, inputs, err := Discover(o.Inputs, o.ToolDir)
	if err != nil {
		return nil, err
	}
	set, err := tc.LoadConfigs(o.ConfFiles...)
	if err != nil {
		return nil, err
	}
	name := o.Config
	if name == "" {
		if name, err = tc.DefaultConfig(); err != nil {
			return nil, err
		}
	}
	c, err := Choose(set, name)
	if err != nil {
		return nil, err
	}
	for i, m := range o.Mods {
		if err := set.Modify(name, m, "-m #"+strconv.Itoa(i+1)); err != nil {
			return nil, err
		}
	}
	platform := c.Platform()
	specs := tc.SpecsFile(platform)
	if _, err := os.Stat(specs); err != nil {
		return nil, fmt.Errorf("config %s is for platform %s, but toolchain %s has no %s (it bakes for: %s)",
			name, platform, tc.Dir, strings.TrimPrefix(specs, tc.Dir+"/"), orNone(tc.Platforms()))
	}
	objcopy, err := tc.Objcopy()
	if err != nil {
		return nil, err
	}
	// The backing compiler may be a command with arguments ("ccache
	// gcc"); rumprun-bake leaves it to the shell's word splitting.
	ccWords := strings.Fields(tc.BackingCC)
	if len(ccWords) == 0 {
		return nil, fmt.Errorf("%s: the recipe names no backing compiler (rumprun_backingcc)", inputs[0].Path)
	}
	if _, err := exec.LookPath(ccWords[0]); err != nil {
		return nil, fmt.Errorf("backing compiler %q (rumprun_backingcc of the inputs) not found: install it or put it on PATH", ccWords[0])
	}
	cflags := append(ccWords[1:], strings.Fields(tc.CFlags)...)

	proto, mbOff, err := chooseProtocol(o.Protocol, platform, tc)
	if err != nil {
		return nil, err
	}

	p := &Plan{Toolchain: tc, Config: c, Inputs: inputs, Output: o.Output, Protocol: proto,
		stampCmd: o.StampCommand, srcCmd: o.SourceCommand}
	var first, after []Arg
	if proto == ProtocolInitrd {
		var cmds []Command
		if cmds, first, after, err = kernelSide(tc, platform, mbOff, objcopy); err != nil {
			return nil, err
		}
		p.Sources = ksideSrc
		p.side, _ = kside.ForPlatform(platform)
		p.Commands = append(p.Commands, cmds...)
	}
	link := Command{{S: ccWords[0]}}
	for _, f := range cflags {
		link = append(link, Arg{S: f})
	}
	if supportsNoPIE(ccWords[0], cflags) {
		link = append(link, Arg{S: "-no-pie"})
	}
	link = append(link, Arg{S: "--sysroot=" + tc.Sysroot()}, Arg{S: "-specs=" + specs},
		Arg{S: "-o"}, Arg{S: "kernel", Tmp: true})
	link = append(link, first...)
	for i, in := range inputs {
		obj := strconv.Itoa(i+1) + ".o"
		p.Commands = append(p.Commands, Command{{S: objcopy},
			{S: "--redefine-sym"}, {S: "main=rumprun_main" + strconv.Itoa(i+1)},
			{S: in.Path}, {S: obj, Tmp: true}})
		link = append(link, Arg{S: obj, Tmp: true})
	}
	link = append(link, after...)
	if len(c.Components) > 0 {
		link = append(link, Arg{S: "-Wl,--whole-archive"})
		for _, comp := range c.Components {
			link = append(link, Arg{S: comp})
		}
		link = append(link, Arg{S: "-Wl,--no-whole-archive"})
	}
	p.Commands = append(p.Commands, link)

	tool := o.Tool
	if tool == "" {
		tool = "rump-bake " + Version
	}
	p.Record = kernel.BakeRecord{Config: name, Platform: platform, Arch: tc.Arch(),
		Components: append([]string{}, c.Components...), Tool: tool}
	for _, in := range inputs {
		p.Record.Programs = append(p.Record.Programs, in.Name)
	}
	return p, nil
}

// Choose returns the named public config of the set.
func Choose(set *Set, name string) (*Config, error) {
	var public []string
	for _, c := range set.Public() {
		public = append(public, c.Name)
	}
	c := set.Lookup(name)
	switch {
	case c == nil:
		return nil, fmt.Errorf("unknown config %q (public configs: %s)", name, orNone(public))
	case c.Private():
		return nil, fmt.Errorf("config %s is private, a building block of others (public configs: %s)", name, orNone(public))
	case c.Platform() == "":
		return nil, fmt.Errorf("config %s names no platform (a public config is named PLATFORM_NAME)", name)
	}
	return c, nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// supportsNoPIE reports whether the compiler takes -no-pie (older ones,
// and clang before 6, reject it).
func supportsNoPIE(cc string, cflags []string) bool {
	args := append(append([]string{}, cflags...), "-no-pie", "-E", "-x", "c", "-o", os.DevNull, os.DevNull)
	return exec.Command(cc, args...).Run() == nil
}

// Script writes the bake as a POSIX shell script that produces the same
// kernel byte for byte: the commands Run runs, the stamp step, and the
// rename into place.
func (p *Plan) Script(w io.Writer) error {
	dir := "."
	if p.Output != "-" {
		dir = filepath.Dir(p.Output)
	}
	var b strings.Builder
	b.WriteString("set -e\n")
	fmt.Fprintf(&b, "tmp=$(mktemp -d %s)\n", shellquote.Operand(filepath.Join(dir, ".rump-bake-XXXXXX")))
	b.WriteString("trap 'rm -rf \"$tmp\"' EXIT\n")
	if p.Sources != "" {
		src := Command{}
		for _, s := range p.sourceCommand() {
			src = append(src, Arg{S: s})
		}
		src = append(src, Arg{S: p.Sources, Tmp: true})
		if p.side.Platform != kside.HW.Platform {
			src = append(src, Arg{S: p.side.Platform})
		}
		b.WriteString(src.shell() + "\n")
	}
	for _, c := range p.Commands {
		b.WriteString(c.shell())
		b.WriteByte('\n')
	}
	rec, err := recordJSON(&p.Record)
	if err != nil {
		return err
	}
	stamp := Command{}
	for _, s := range p.stampCommand() {
		stamp = append(stamp, Arg{S: s})
	}
	stamp = append(stamp, Arg{S: rec})
	if p.Protocol == ProtocolInitrd {
		stamp = append(stamp, Arg{S: "--protocol"}, Arg{S: p.Protocol})
	}
	stamp = append(stamp, Arg{S: "kernel", Tmp: true})
	b.WriteString(stamp.shell() + "\n")
	if p.Output == "-" {
		b.WriteString("cat \"$tmp\"/kernel\n")
	} else {
		fmt.Fprintf(&b, "mv -f \"$tmp\"/kernel %s\n", shellquote.Operand(p.Output))
	}
	_, err = io.WriteString(w, b.String())
	return err
}

func (p *Plan) sourceCommand() []string {
	if len(p.srcCmd) > 0 {
		return p.srcCmd
	}
	return []string{"rump-bake", "--kside-source"}
}

// protocols lists what the stamp declares (rumpboot type-1 notes).
func (p *Plan) protocols() []string {
	if p.Protocol == ProtocolInitrd {
		return []string{ProtocolInitrd}
	}
	return nil
}

func (p *Plan) stampCommand() []string {
	if len(p.stampCmd) > 0 {
		return p.stampCmd
	}
	return []string{"rump-bake", "--stamp"}
}

func (c Command) shell() string {
	words := make([]string, len(c))
	for i, a := range c {
		if a.Tmp {
			words[i] = `"$tmp"/` + shellquote.Quote(a.S)
		} else {
			words[i] = shellquote.Quote(a.S)
		}
	}
	return strings.Join(words, " ")
}

// Argv returns the command's words with temporary files under tmp.
func (c Command) Argv(tmp string) []string {
	words := make([]string, len(c))
	for i, a := range c {
		if a.Tmp {
			words[i] = filepath.Join(tmp, a.S)
		} else {
			words[i] = a.S
		}
	}
	return words
}

// Run performs the bake: the commands on work files (atomicfile.Work; what they
// print goes to log, less the linker's warnings that every rumprun bake
// draws; all of it is in the error when one fails), then the stamped kernel written to the output
// atomically (pkg/atomicfile), or to stdout for "-". On failure, or
// whatever ends the process, SIGKILL included, nothing is left behind.
func (p *Plan) Run(stdout, log io.Writer) error {
	// The linker needs names: its files are work files reached through
	// /proc, which have none, so nothing is left even after SIGKILL.
	work := atomicfile.NewWork("rump-bake-")
	defer work.Close()
	if p.Sources != "" {
		path, err := work.Path(p.Sources)
		if err != nil {
			return err
		}
		if err := p.side.WriteFile(path); err != nil {
			return err
		}
	}
	for _, c := range p.Commands {
		argv, err := c.argvIn(work)
		if err != nil {
			return err
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s failed (%v): %s\n%s", filepath.Base(argv[0]), err, shortCommand(c),
				bytes.TrimRight(out.Bytes(), "\n"))
		}
		if _, err := log.Write(withoutLinkerNoise(out.Bytes())); err != nil {
			return err
		}
	}
	k, err := work.Path("kernel")
	if err != nil {
		return err
	}
	if p.Output == "-" {
		if err := stamp(stdout, k, &p.Record, p.protocols()...); err != nil {
			return fmt.Errorf("stamping the kernel: %w", err)
		}
		return nil
	}
	if err := stampTo(p.Output, k, &p.Record, p.protocols()...); err != nil {
		return fmt.Errorf("stamping the kernel: %w", err)
	}
	return nil
}

func shortCommand(c Command) string {
	s := c.shell()
	if len(s) > 300 {
		s = s[:300] + " ..."
	}
	return s
}

func recordJSON(rec *kernel.BakeRecord) (string, error) {
	var b strings.Builder
	if err := writeJSON(&b, rec); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// StampFile adds the bake record (and a type-1 note for each protocol) to
// the kernel at path, replacing the file atomically (pkg/atomicfile) and
// keeping its mode.
func StampFile(path string, rec *kernel.BakeRecord, protocols ...string) error {
	return stampTo(path, path, rec, protocols...)
}

// stampTo writes the kernel src with the bake record added to dest, which
// gets src's mode.
func stampTo(dest, src string, rec *kernel.BakeRecord, protocols ...string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() { // a FIFO would block the open for ever
		return fmt.Errorf("%s: not a regular file", src)
	}
	out, err := atomicfile.Create(dest, fi.Mode().Perm())
	if err != nil {
		return err
	}
	defer out.Abort()
	if err := stamp(out, src, rec, protocols...); err != nil {
		return err
	}
	// Exactly src's mode, as "rump-bake --stamp" changes the file in place.
	if err := out.Chmod(fi.Mode().Perm()); err != nil {
		return err
	}
	return out.Commit()
}

// stamp writes the kernel src with the bake record added to w.
func stamp(w io.Writer, src string, rec *kernel.BakeRecord, protocols ...string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if err := kernel.Stamp(bw, in, fi.Size(), rec, protocols...); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	return bw.Flush()
}

// linkerNoise are the warnings that binutils 2.39 and later print for
// every rumprun kernel and application object: rumprun's objects carry no
// .note.GNU-stack and its kernels are one RWX segment. They say nothing
// about the bake at hand, so a successful bake does not show them.
var linkerNoise = []string{
	"missing .note.GNU-stack section implies executable stack",
	"NOTE: This behaviour is deprecated and will be removed in a future version of the linker",
	"requires executable stack (because the .note.GNU-stack section is executable)",
	"has a LOAD segment with RWX permissions",
}

// withoutLinkerNoise returns out without the lines that carry linkerNoise.
func withoutLinkerNoise(out []byte) []byte {
	var kept []byte
	for len(out) > 0 {
		line, rest, _ := bytes.Cut(out, []byte("\n"))
		out = rest
		noise := false
		for _, n := range linkerNoise {
			if bytes.Contains(line, []byte(n)) {
				noise = true
				break
			}
		}
		if !noise {
			kept = append(append(kept, line...), '\n')
		}
	}
	return kept
}
