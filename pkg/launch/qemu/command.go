package qemu

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/launch"
	"github.com/rumptools/rumptools/pkg/shellquote"
)

// Ways of handing a config to a kernel of the rumprun protocol.
const (
	ViaCmdline = "cmdline" // -append: the multiboot command line
	ViaModule  = "module"  // the first -initrd module: a file holding only the config
)

// The words an initrd/1 kernel reads before its config on the command
// line: the exit status goes to the isa-debug-exit device every command
// has (QEMU then exits with 2N+1), and the config is canonical.
const (
	WordExit      = "rumpboot.exit=0xf4"
	WordCanonical = launch.WordCanonical
)

// MaxCmdline is the longest multiboot command line (or config module) a
// rumprun hw kernel accepts; longer ones make it panic.
const MaxCmdline = config.WireLimitHW

// Options are the choices that are QEMU's own.
type Options struct {
	Accel      []string // accelerators in order of preference (see Accel); nil leaves QEMU's default
	GDBPort    int      // gdb stub on this TCP port; 0 for none
	Paused     bool     // start with the CPU stopped (-S)
	Background bool     // daemonize with the console in LogFile; the launcher prints qemu:PID
	LogFile    string   // console file when Background
	Extra      []string // raw QEMU arguments, appended last
	ConfigVia  string   // ProtocolRumprun only: "" (command line unless too long), ViaCmdline or ViaModule
}

// Command is a QEMU invocation.
type Command struct {
	Path string   // the QEMU binary, looked up on PATH
	Args []string // arguments; those named by Temps are placeholders

	// Temps are files the command needs: each is created (holding Data)
	// before QEMU starts, its path put into Args[Arg], and removed after.
	Temps []Temp

	// Background: QEMU daemonizes, writing its PID to the "pid" temp file.
	Background bool
	// Log is the console log of a Background run. Run opens it and locks
	// it (flock), refusing a log that another running guest holds; QEMU
	// inherits the locked descriptor as fd 3 through -add-fd (LogFD) and
	// keeps it, and so the lock, for its lifetime.
	Log string

	// ExitStatus: the kernel was told to write its exit status N to the
	// isa-debug-exit device, which makes QEMU exit with 2N+1.
	ExitStatus bool
}

// LogFD is the descriptor QEMU inherits the console log on: fdset 3 of
// its -add-fd, opened as /dev/fdset/3 (QEMU truncates it then).
const LogFD = 3

// Temp is a temporary file a Command needs.
type Temp struct {
	Name   string // what it holds: "cfg" or "pid"; the shell variable in Shell's rendering
	Data   []byte // content written before QEMU runs (nil: an empty file)
	Arg    int    // index in Args of the argument that is the file's path
	Module bool   // the path goes into -initrd: commas doubled, no spaces
}

// escape doubles commas, as QEMU's option syntax wants inside a value.
func escape(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// modulePath writes a path for -initrd: there a comma separates modules
// and a space starts the module's string, so a space cannot be passed.
func modulePath(what, path string) (string, error) {
	if path == "" || strings.ContainsAny(path, " \t\n") {
		return "", fmt.Errorf("%s %q: QEMU's -initrd cannot carry a path with a space: rename the file or link it under another name", what, path)
	}
	return escape(path), nil
}

// drivePath keeps QEMU from taking "name:" at the start of a relative path
// for a block protocol (nbd:, http:, json:).
func drivePath(path string) string {
	if !filepath.IsAbs(path) && strings.ContainsRune(path, ':') {
		return "./" + path
	}
	return path
}

// Build renders p as a QEMU command.
func Build(p *launch.Plan, o Options) (*Command, error) {
	c := &Command{Path: Binary(p.Info), Background: o.Background}
	add := func(args ...string) { c.Args = append(c.Args, args...) }
	temp := func(t Temp) {
		t.Arg = len(c.Args)
		c.Temps = append(c.Temps, t)
		add("") // filled when the file exists
	}

	name := escape(p.Name)
	if strings.ContainsRune(p.Name, '=') {
		name = "guest=" + name
	}
	add("-name", name, "-m", strconv.Itoa(p.MemoryMiB))
	for _, a := range o.Accel {
		add("-accel", a)
	}
	// No default devices: a default NIC would become wm0 and shift every
	// name, and without a display adapter the console is the serial port.
	add("-nodefaults", "-no-user-config", "-vga", "none", "-display", "none")
	if o.Background {
		if o.LogFile == "" {
			return nil, errors.New("background run without a console log file")
		}
		c.Log = o.LogFile
		fd := strconv.Itoa(LogFD)
		add("-add-fd", "fd="+fd+",set="+fd, "-chardev", "file,id=console0,path=/dev/fdset/"+fd, "-serial", "chardev:console0")
	} else {
		add("-serial", "stdio")
	}
	// A triple fault ends QEMU instead of rebooting into the same failure;
	// kernels that write their exit status to port 0xf4 end it themselves.
	add("-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04")
	add("-kernel", p.Kernel)

	text, err := p.ConfigText()
	if err != nil {
		return nil, err
	}
	words := ""
	if p.Protocol == launch.ProtocolInitrd {
		// Words for the kernel side before the config (DESIGN.md 5).
		words = WordExit
		c.ExitStatus = true
		if text != nil {
			words += " " + WordCanonical + " "
		}
	}
	via, err := chooseVia(p, o.ConfigVia, words, text)
	if err != nil {
		return nil, err
	}
	switch {
	case p.Initrd != "":
		path, err := modulePath("initrd", p.Initrd)
		if err != nil {
			return nil, err
		}
		add("-initrd", path)
	case via == ViaModule:
		add("-initrd")
		temp(Temp{Name: "cfg", Data: text, Module: true})
	}
	if via == ViaCmdline {
		add("-append", words+string(text)) // verbatim: QEMU passes it as it is
	}

	for _, n := range p.NICs {
		dev, ok := devices[n.Model.Driver]
		if !ok {
			return nil, fmt.Errorf("%s: QEMU has no device for %s interfaces", n.Name, n.Model.Driver)
		}
		netdev, err := renderNetdev(n)
		if err != nil {
			return nil, err
		}
		add("-netdev", netdev, "-device", fmt.Sprintf("%s,netdev=%s,mac=%s,addr=%#x", dev.device, n.Name, n.MAC, dev.slot+n.Unit))
	}
	for _, d := range p.Disks {
		drive := fmt.Sprintf("if=none,id=ld%d,file=%s,format=%s", d.Unit, escape(drivePath(d.Path)), d.Format)
		if d.ReadOnly {
			drive += ",readonly=on"
		}
		add("-drive", drive, "-device", fmt.Sprintf("virtio-blk-pci,drive=ld%d,addr=%#x", d.Unit, SlotLd+d.Unit))
	}

	if o.GDBPort != 0 {
		if o.GDBPort < 0 || o.GDBPort > 65535 {
			return nil, fmt.Errorf("gdb port %d: want 1 to 65535", o.GDBPort)
		}
		add("-gdb", fmt.Sprintf("tcp::%d", o.GDBPort))
	}
	if o.Paused {
		add("-S")
	}
	if o.Background {
		add("-daemonize", "-pidfile")
		temp(Temp{Name: "pid"})
	}
	add(o.Extra...)
	return c, nil
}

// chooseVia decides how the config reaches the kernel: "" (not at all),
// ViaCmdline or ViaModule. The hw limit holds either way; QEMU puts the
// kernel's path and a space in front of the -append text.
func chooseVia(p *launch.Plan, want, words string, text []byte) (string, error) {
	switch want {
	case "", ViaCmdline, ViaModule:
	default:
		return "", fmt.Errorf("unknown config delivery %q (want %s or %s)", want, ViaCmdline, ViaModule)
	}
	if p.Protocol == launch.ProtocolInitrd && want == ViaModule {
		return "", fmt.Errorf("an %s kernel reads its first module as the initrd: the config goes on the command line", launch.ProtocolInitrd)
	}
	if text == nil {
		if words != "" {
			return ViaCmdline, nil
		}
		return "", nil
	}
	form := "wire form"
	if p.Protocol == launch.ProtocolInitrd {
		form = "canonical form"
	}
	cmdline := len(p.Kernel) + 1 + len(words) + len(text)
	overCmdline := fmt.Errorf("the config is %d bytes in %s; with the kernel path and a space that QEMU puts in front, the multiboot command line would be %d bytes, over the %d-byte limit of rumprun hw kernels",
		len(text), form, cmdline, MaxCmdline)
	if p.Protocol == launch.ProtocolInitrd {
		if cmdline > MaxCmdline {
			return "", fmt.Errorf("%v: move what you can into the initrd's /json.cfg", overCmdline)
		}
		return ViaCmdline, nil
	}
	if len(text) > MaxCmdline {
		return "", fmt.Errorf("the config is %d bytes in %s, over the %d-byte limit of rumprun hw kernels (command line or first module): shorten it, or put files on a disk image (-b)",
			len(text), form, MaxCmdline)
	}
	switch want {
	case ViaModule:
		return ViaModule, nil
	case ViaCmdline:
		if cmdline > MaxCmdline {
			return "", fmt.Errorf("%v: deliver it as a module instead (--config-via module)", overCmdline)
		}
		return ViaCmdline, nil
	}
	if cmdline > MaxCmdline {
		return ViaModule, nil
	}
	return ViaCmdline, nil
}

// renderNetdev writes the -netdev option of a NIC's backend.
func renderNetdev(n launch.NIC) (string, error) {
	b := n.Backend
	items := []string{}
	has := func(key string) bool {
		for _, it := range b.Options {
			if k, _, _ := strings.Cut(it, "="); k == key {
				return true
			}
		}
		return false
	}
	switch b.Kind {
	case launch.BackendUser:
		items = append(items, "user", "id="+n.Name)
	case launch.BackendTap:
		items = append(items, "tap", "id="+n.Name, "ifname="+b.Name)
		// The interface exists already: no scripts unless asked for.
		if !has("script") {
			items = append(items, "script=no")
		}
		if !has("downscript") {
			items = append(items, "downscript=no")
		}
	case launch.BackendBridge:
		items = append(items, "bridge", "id="+n.Name, "br="+b.Name)
	case launch.BackendRaw:
		if len(b.Options) == 0 || strings.ContainsRune(b.Options[0], '=') {
			return "", fmt.Errorf("-I %s=%s: a raw backend starts with a QEMU -netdev type (user, tap, bridge, socket, stream, dgram, vde, ...)", n.Name, b)
		}
		items = append(items, b.Options[0], "id="+n.Name)
		return strings.Join(append(items, b.Options[1:]...), ","), nil
	default:
		return "", fmt.Errorf("%s: unknown backend kind %q", n.Name, b.Kind)
	}
	return strings.Join(append(items, b.Options...), ","), nil
}

// Shell returns c as one POSIX shell command that does what Run does,
// inside a subshell so that pasting it leaves the user's shell as it was.
// A file QEMU only reads (the config module) is made with mktemp, opened
// as file descriptor 3 (4, ...) and removed at once: QEMU reads it as
// /proc/self/fd/3, a path that needs no escaping whatever TMPDIR holds
// (commas split -initrd, a space ends its path). A file QEMU writes (the
// pid file) is made with mktemp and removed afterwards.
func (c *Command) Shell() string {
	words := []string{shellquote.Join([]string{c.Path})}
	temps := map[int]string{}
	fd := 2
	if c.Log != "" {
		fd = LogFD
	}
	first := fd
	for _, t := range c.Temps {
		if t.Name == "pid" {
			temps[t.Arg] = `"$pid"`
		} else {
			fd++
			temps[t.Arg] = "/proc/self/fd/" + strconv.Itoa(fd)
		}
	}
	for i, a := range c.Args {
		if w, ok := temps[i]; ok {
			words = append(words, w)
			continue
		}
		words = append(words, shellquote.Quote(a))
	}
	run := strings.Join(words, " ")
	if len(c.Temps) == 0 && c.Log == "" {
		return run
	}
	var steps []string
	if c.Log != "" {
		// What Run does: open the log, lock it or stop (flock(1), from
		// util-linux), and hand it to QEMU.
		log := shellquote.Quote(c.Log)
		busy := shellquote.Quote("rump-launch-qemu: " + c.Log + ": " + errLogBusy.Error())
		steps = append(steps, "exec "+strconv.Itoa(LogFD)+">>"+log,
			"{ flock -n "+strconv.Itoa(LogFD)+" || { printf '%s\\n' "+busy+" >&2; false; }; }")
	}
	rm := "rm -f --"
	clear := ""
	for _, t := range c.Temps {
		clear += t.Name + "= " // the user's shell may have these set: never remove those files
	}
	fd = first
	for _, t := range c.Temps {
		steps = append(steps, t.Name+"=$(mktemp)")
		rm += ` "$` + t.Name + `"` // also when a step before its own rm failed
		if t.Name == "pid" {
			continue
		}
		fd++
		steps = append(steps, "printf %s "+shellquote.Quote(string(t.Data))+` >"$`+t.Name+`"`,
			"exec "+strconv.Itoa(fd)+`<"$`+t.Name+`"`, `rm -f -- "$`+t.Name+`"`)
	}
	steps = append(steps, run)
	if c.Background {
		steps = append(steps, `printf 'qemu:%s\n' "$(cat -- "$pid")"`)
	}
	if clear != "" {
		clear = strings.TrimSuffix(clear, " ") + "; "
	}
	return "(" + clear + strings.Join(steps, " && ") + "; st=$?; " + rm + "; exit $st)"
}
