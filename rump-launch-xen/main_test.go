package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/xl"
	"github.com/rumptools/rumptools/pkg/xl/xltest"
)

type result struct {
	code           int
	stdout, stderr string
}

func start(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// unsanitise decodes the value argument as xenstore-write does
// (unsanitise_value in Xen's tools/xenstore): \t \n \r \\ \xHH \ooo, and any
// other escaped byte as itself.
func unsanitise(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'x', '0', '1', '2', '3', '4', '5', '6', '7':
			panic("numeric escape in a xenstore-write value: " + s)
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

type fixture struct {
	dir, state string
	pv, hw     string // kernels
	pvInitrd   string
	disk       string
	ts         *xltest.Toolstack
}

func setup(t *testing.T) *fixture {
	dir := t.TempDir()
	f := &fixture{dir: dir, state: filepath.Join(dir, "state dir")}
	f.pv = xltest.Kernel{Xen: true, Programs: []string{"httpd"}}.Write(t, dir, "httpd.bin")
	f.hw = xltest.Kernel{Programs: []string{"app"}}.Write(t, dir, "app.bin")
	f.pvInitrd = xltest.Kernel{Xen: true, Initrd: true}.Write(t, dir, "rd.bin")
	f.disk = filepath.Join(dir, "data.img")
	if err := os.WriteFile(f.disk, make([]byte, 64<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	f.ts = xltest.NewToolstack(t)
	return f
}

func show(calls [][]string) string {
	var s []string
	for _, c := range calls {
		s = append(s, strings.Join(c, " "))
	}
	return strings.Join(s, "\n")
}

func TestPVLaunch(t *testing.T) {
	f := setup(t)
	r := start(t, "", "-s", f.state, "-N", "web", "-I", "xenif0=bridge:br0", "-b", f.disk+",/data",
		"-e", "MOTD=it's here", "-x", "vcpus = 2", f.pv, "--", "-p", "8080", "two words", "it's")
	if r.code != 0 || r.stdout != "xen:web\n" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	file := filepath.Join(f.state, "web.cfg")
	calls := f.ts.Calls()
	if len(calls) != 4 {
		t.Fatalf("calls:\n%s", show(calls))
	}
	for i, want := range [][]string{
		{"xl", "create", "-p", file},
		{"xl", "domid", "web"},
		{"xenstore-write", "/local/domain/7/rumprun/cfg"},
		{"xl", "unpause", "web"},
	} {
		if !reflect.DeepEqual(calls[i][:len(want)], want) {
			t.Errorf("call %d: %q, want %q", i, calls[i], want)
		}
	}
	if len(calls[2]) != 3 {
		t.Fatalf("xenstore-write call %q", calls[2])
	}
	wire := unsanitise(calls[2][2])
	c, _, err := config.Parse("xenstore", []byte(wire))
	if err != nil {
		t.Fatalf("the config written to xenstore does not parse: %v\n%s", err, wire)
	}
	if c.Hostname != "web" || strings.Join(c.RC[0].Argv, "|") != "-p|8080|two words|it's" || c.RC[0].Bin != "httpd" {
		t.Errorf("xenstore config %+v", c)
	}
	if len(c.Env) != 1 || c.Env[0] != (config.EnvVar{Name: "MOTD", Value: "it's here"}) {
		t.Errorf("env %+v", c.Env)
	}
	if len(c.Net) != 1 || c.Net[0].If != "xenif0" || !c.Net[0].Cloner || len(c.Blk) != 1 || c.Blk[0].Mountpoint != "/data" || c.Blk[0].Path != "xvda" {
		t.Errorf("net %+v blk %+v", c.Net, c.Blk)
	}

	// The file xl created the domain from is what libxlutil reads as meant.
	created := f.ts.Created()
	saved, err := os.ReadFile(file)
	if err != nil || string(saved) != created {
		t.Errorf("state file %v differs from what xl create read", err)
	}
	want, err := xl.Parse("want", []byte(created))
	if err != nil {
		t.Fatal(err)
	}
	xltest.Verify(t, file, want, "cmdline", "extra")
	for k, v := range map[string]xl.Value{
		"name":   xl.String("web"),
		"type":   xl.String("pv"),
		"kernel": xl.String(f.pv),
		"vcpus":  xl.Number(2),
		"disk":   xl.Strings("format=raw,vdev=xvda,access=rw,target=" + f.disk),
	} {
		if got, _ := want.Get(k); !got.Equal(v) {
			t.Errorf("%s = %s, want %s", k, xltest.Show(got), xltest.Show(v))
		}
	}
}

// -d leaves the domain running as the default does; --rm makes a domain
// that stops go away (on_poweroff and on_crash "destroy"), and the domain
// name follows -N (the hostname) unless --name gives it.
func TestDetachRemoveAndNames(t *testing.T) {
	f := setup(t)
	for _, tc := range []struct {
		args             []string
		name, host, stop string
	}{
		{args: nil, name: "httpd", host: "", stop: "preserve"},
		{args: []string{"-d"}, name: "httpd", host: "", stop: "preserve"},
		{args: []string{"--rm", "-N", "web"}, name: "web", host: "web", stop: "destroy"},
		{args: []string{"-d", "--rm", "-N", "web", "--name", "web-1"}, name: "web-1", host: "web", stop: "destroy"},
		{args: []string{"--name", "web-2"}, name: "web-2", host: "", stop: "preserve"},
	} {
		f.ts.Reset()
		r := start(t, "", append(append([]string{"-s", f.state}, tc.args...), f.pv)...)
		if r.code != 0 || r.stdout != "xen:"+tc.name+"\n" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want xen:%s", tc.args, r.code, r.stdout, r.stderr, tc.name)
			continue
		}
		created, err := xl.Parse("created", []byte(f.ts.Created()))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]xl.Value{"name": xl.String(tc.name), "on_poweroff": xl.String(tc.stop), "on_crash": xl.String(tc.stop)} {
			if got, _ := created.Get(k); !got.Equal(v) {
				t.Errorf("%q: %s = %s, want %s", tc.args, k, xltest.Show(got), xltest.Show(v))
			}
		}
		calls := f.ts.Calls()
		if len(calls) != 4 || calls[2][0] != "xenstore-write" {
			t.Fatalf("%q: calls\n%s", tc.args, show(calls))
		}
		c, _, err := config.Parse("xenstore", []byte(unsanitise(calls[2][2])))
		if err != nil {
			t.Fatalf("%q: the config written to xenstore does not parse: %v", tc.args, err)
		}
		if c.Hostname != tc.host {
			t.Errorf("%q: hostname %q, want %q", tc.args, c.Hostname, tc.host)
		}
	}
}

// -p leaves the domain paused with its config written: every call but
// "xl unpause", and the name to unpause printed as for a running domain.
func TestPaused(t *testing.T) {
	f := setup(t)
	r := start(t, "", "-s", f.state, "-p", "-N", "web", f.pv)
	if r.code != 0 || r.stdout != "xen:web\n" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	calls := f.ts.Calls()
	if len(calls) != 3 || calls[2][0] != "xenstore-write" {
		t.Fatalf("calls:\n%s", show(calls))
	}
	f.ts.Reset()
	if r := start(t, "", "-s", f.state, "-p", f.hw); r.code != 0 || len(f.ts.Calls()) != 1 {
		t.Errorf("hw: exit %d, calls:\n%s", r.code, show(f.ts.Calls()))
	}
	if r := start(t, "", "-s", f.state, "-p", "-i", f.pv); r.code != 2 || !strings.Contains(r.stderr, "-i and -p exclude each other") {
		t.Errorf("-p -i: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestEnvNeedingEscapeRefused(t *testing.T) {
	f := setup(t)
	r := start(t, "", "-s", f.state, "-e", `MOTD="quoted"`, f.pv)
	if r.code != 1 || !strings.Contains(r.stderr, "not representable in the wire form") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if calls := f.ts.Calls(); len(calls) != 0 {
		t.Errorf("ran:\n%s", show(calls))
	}
}

func TestBackslashesReachXenstore(t *testing.T) {
	// The wire form holds no backslash today, but the hostname check is
	// the config package's: what would reach xenstore-write is doubled.
	f := setup(t)
	cfg := filepath.Join(f.dir, "c.json")
	os.WriteFile(cfg, []byte(`{"cmdline":"httpd -p 80","env":{"PATH":"/bin:/sbin","SEP":"a|b&c;d"}}`), 0o644)
	r := start(t, "", "-s", f.state, "-c", cfg, f.pv)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	calls := f.ts.Calls()
	got := unsanitise(calls[2][2])
	if got != `{"cmdline":"httpd -p 80","env":"PATH=/bin:/sbin","env":"SEP=a|b&c;d"}` {
		t.Errorf("xenstore value %s", got)
	}
}

func TestHVMLaunch(t *testing.T) {
	f := setup(t)
	r := start(t, "", "-s", f.state, "-I", "wm0", f.hw, "--", "it's", "x y")
	if r.code != 0 || r.stdout != "xen:app\n" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	file := filepath.Join(f.state, "app.cfg")
	if got := show(f.ts.Calls()); got != "xl create -p "+file+"\nxl unpause app" {
		t.Errorf("calls:\n%s", got)
	}
	got := xltest.Read(t, file, "type", "cmdline", "serial", "vif", "kernel")
	c, _, err := config.Parse("cmdline", []byte(got["cmdline"].S))
	if err != nil || strings.Join(c.RC[0].Argv, "|") != "it's|x y" || c.Net[0].If != "wm0" {
		t.Errorf("cmdline as xl reads it: %q (%v)", got["cmdline"].S, err)
	}
	if got["type"].S != "hvm" || got["serial"].S != "pty" || got["kernel"].S != f.hw || !strings.HasPrefix(got["vif"].List[0].S, "model=e1000,bridge=xenbr0,mac=") {
		t.Errorf("xl reads %v", got)
	}
}

// TestFailureCleanup fails each step in turn: after "xl create -p" every
// failure destroys the domain, and no run leaves the xl file behind.
func TestFailureCleanup(t *testing.T) {
	f := setup(t)
	for _, tc := range []struct {
		fail, domid string
		kernel      string
		args        []string
		want        []string // subcommands, in order
		msg         string
	}{
		{fail: "create", kernel: f.pv, want: []string{"create"}, msg: "xl create -p"},
		{fail: "domid", kernel: f.pv, want: []string{"create", "domid", "destroy"}, msg: "the domain was destroyed"},
		{domid: "no such domain", kernel: f.pv, want: []string{"create", "domid", "destroy"}, msg: "not a domain id"},
		{fail: "xenstore-write", kernel: f.pv, want: []string{"create", "domid", "xenstore-write", "destroy"}, msg: "the domain was destroyed"},
		{fail: "unpause", kernel: f.pv, want: []string{"create", "domid", "xenstore-write", "unpause", "destroy"}, msg: "xl unpause httpd: exit status 1; the domain was destroyed"},
		{fail: "unpause", kernel: f.hw, want: []string{"create", "unpause", "destroy"}, msg: "the domain was destroyed"},
		{fail: "unpause", kernel: f.pv, args: []string{"-i"}, want: []string{"create", "domid", "xenstore-write", "console", "unpause", "destroy"}, msg: "the domain was destroyed"},
		{fail: "unpause", kernel: f.pv, args: []string{"--rm"}, want: []string{"create", "domid", "xenstore-write", "unpause", "destroy"}, msg: "the domain was destroyed"},
		{fail: "destroy", kernel: f.pv, args: []string{"--protocol", "rumprun"}, domid: "x", want: []string{"create", "domid", "destroy"}, msg: "destroying the domain failed too"},
	} {
		f.ts.Reset()
		f.ts.Fail(tc.fail)
		if tc.domid == "" {
			tc.domid = "7"
		}
		f.ts.DomID(tc.domid)
		f.ts.Console("", true)
		r := start(t, "", append(append([]string{"-s", f.state}, tc.args...), tc.kernel)...)
		calls := normalize(f.ts.Calls())
		var steps []string
		for _, c := range calls {
			if c[0] == "xl" {
				steps = append(steps, c[1])
			} else {
				steps = append(steps, c[0])
			}
		}
		name := strings.TrimSuffix(filepath.Base(tc.kernel), ".bin")
		if r.code != 1 || !strings.Contains(r.stderr, tc.msg) || !reflect.DeepEqual(steps, tc.want) {
			t.Errorf("fail %s domid %q: exit %d, steps %q (want %q), stderr:\n%s", tc.fail, tc.domid, r.code, steps, tc.want, r.stderr)
		}
		for _, c := range calls {
			if c[0] == "xl" && c[1] == "destroy" && c[2] != name {
				t.Errorf("destroyed %q", c[2])
			}
		}
		if _, err := os.Stat(filepath.Join(f.state, name+".cfg")); !os.IsNotExist(err) {
			t.Errorf("fail %s: the xl file is left behind (%v)", tc.fail, err)
		}
	}
	// The state directory holds no temporary file either.
	entries, _ := os.ReadDir(f.state)
	if len(entries) != 0 {
		t.Errorf("state directory holds %v", entries)
	}
}

// normalize puts "xl console" right before "xl unpause": the two run at
// the same time (the console is attached before the domain runs), so
// their records may come in either order, and a background console may
// even start after the unpause has failed and the domain is destroyed.
func normalize(calls [][]string) [][]string {
	var console, rest [][]string
	for _, c := range calls {
		if c[0] == "xl" && c[1] == "console" {
			console = append(console, c)
		} else {
			rest = append(rest, c)
		}
	}
	var out [][]string
	for _, c := range rest {
		if c[0] == "xl" && c[1] == "unpause" {
			out = append(out, console...)
			console = nil
		}
		out = append(out, c)
	}
	return append(out, console...)
}

func TestInteractive(t *testing.T) {
	f := setup(t)
	for _, tc := range []struct {
		kernel     string
		transcript string
		eof        bool
		code       int
		msg        string
	}{
		{f.pv, "booting\n=== calling \"httpd\" main() ===\nhello\n=== main() of \"httpd\" returned 0 ===\n=== _exit(0) called ===\n", false, 0, ""},
		{f.pv, "=== calling \"httpd\" main() ===\n=== main() of \"httpd\" returned 3 ===\n=== _exit(3) called ===\n", false, 3, ""},
		{f.pv, "=== ERROR: _exit(300) called ===\n", false, 300 & 0xff, ""},
		{f.hw, "=== main() of \"app\" returned 42 ===\n=== _exit(42) called ===\nhalted\n", false, 42, ""},
		{f.hw, "rumprun_config: no bins\n=== bootstrap failed\n", false, 1, "=== bootstrap failed"},
		{f.pv, "=== _exit(5) called ===\n", true, 5, ""},
		{f.pv, "booting\npanic\n", true, 1, "console closed before the program exited"},
	} {
		f.ts.Reset()
		f.ts.Console(tc.transcript, tc.eof)
		r := start(t, "typed input\n", "-i", "-s", f.state, tc.kernel)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) || (tc.msg == "" && strings.Contains(r.stderr, "rump-launch-xen:")) {
			t.Errorf("%q: exit %d (want %d), stderr %q", tc.transcript, r.code, tc.code, r.stderr)
		}
		if r.stdout != tc.transcript {
			t.Errorf("console output %q, want %q", r.stdout, tc.transcript)
		}
		raw := f.ts.Calls()
		for i, c := range raw {
			if c[0] == "xl" && c[1] == "console" && (i == 0 || raw[i-1][0] == "xl" && raw[i-1][1] == "create" && tc.kernel == f.pv) {
				t.Errorf("xl console attached before the domain was ready:\n%s", show(raw))
			}
		}
		calls := normalize(raw)
		name := strings.TrimSuffix(filepath.Base(tc.kernel), ".bin")
		last := calls[len(calls)-1]
		if strings.Join(last, " ") != "xl destroy "+name || strings.Join(calls[len(calls)-3], " ") != "xl console "+name {
			t.Errorf("calls:\n%s", show(calls))
		}
		if got := f.ts.ConsoleStdin(); got != "typed input\n" {
			t.Errorf("xl console read %q from its standard input", got)
		}
	}
}

// TestScriptSameCalls runs the -n script with the stand-ins and checks that
// it makes exactly the calls the launcher makes, with the same xl file.
func TestScriptSameCalls(t *testing.T) {
	f := setup(t)
	rd := filepath.Join(f.dir, "root.img")
	os.WriteFile(rd, []byte("070701"+strings.Repeat("00000000", 11)+"0000000b00000000TRAILER!!!\x00\x00\x00\x00"), 0o644)
	for _, tc := range []struct {
		args []string
		fail string
	}{
		{args: []string{f.pv}},
		{args: []string{"-N", "it-s", "-I", "xenif1=bridge=br1,vifname=v1", "-b", f.disk, "-e", "A=it's", "-x", `cpus = "0,1"`, f.pv, "--", "it's", "a b", "$HOME", "`x`"}},
		{args: []string{"-i", f.pv, "--", "x"}},
		{args: []string{"-i", "--rm", "-I", "wm0", f.hw}},
		{args: []string{"-d", "--rm", f.pv}},
		{args: []string{"-p", f.pv}},
		{args: []string{"-p", f.hw}},
		{args: []string{f.hw, "--", "say 'hi'"}},
		{args: []string{"-i", f.pvInitrd, rd, "--", `say "hi"`, `back\slash`}},
		{args: []string{f.pv}, fail: "xenstore-write"},
		{args: []string{f.pv}, fail: "domid"},
		{args: []string{f.hw}, fail: "unpause"},
		{args: []string{"-i", f.pv}, fail: "unpause"},
		{args: []string{f.pv}, fail: "create"},
	} {
		args := append([]string{"-s", f.state}, tc.args...)
		f.ts.Reset()
		f.ts.Fail(tc.fail)
		f.ts.Console("=== _exit(0) called ===\n", true)
		direct := start(t, "input\n", args...)
		wantCalls, wantFile, wantIn := normalize(f.ts.Calls()), f.ts.Created(), f.ts.ConsoleStdin()

		f.ts.Reset()
		f.ts.Fail("")
		dry := start(t, "", append([]string{"-n"}, args...)...)
		if dry.code != 0 || dry.stderr != "" {
			t.Fatalf("-n %q: exit %d, stderr %s", tc.args, dry.code, dry.stderr)
		}
		if calls := f.ts.Calls(); len(calls) != 0 {
			t.Fatalf("-n ran commands:\n%s", show(calls))
		}
		script := filepath.Join(f.dir, "launch.sh")
		os.WriteFile(script, []byte(dry.stdout), 0o755)
		f.ts.Fail(tc.fail)
		cmd := exec.Command("sh", script)
		cmd.Stdin = strings.NewReader("input\n")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		gotCalls := normalize(f.ts.Calls())
		if !reflect.DeepEqual(gotCalls, wantCalls) {
			t.Errorf("%q: the script calls\n%s\nthe launcher calls\n%s\nscript:\n%s", tc.args, show(gotCalls), show(wantCalls), dry.stdout)
		}
		if got := f.ts.Created(); got != wantFile {
			t.Errorf("%q: the script's xl file\n%s\nthe launcher's\n%s", tc.args, got, wantFile)
		}
		if got := f.ts.ConsoleStdin(); got != wantIn {
			t.Errorf("%q: xl console read %q under the script, %q under the launcher", tc.args, got, wantIn)
		}
		if (err != nil) != (direct.code != 0) {
			t.Errorf("%q: script ended with %v, the launcher with %d\n%s", tc.args, err, direct.code, errb.String())
		}
		if tc.fail == "" && !strings.Contains(tc.args[0], "-i") && out.String() != direct.stdout {
			t.Errorf("%q: script printed %q, the launcher %q", tc.args, out.String(), direct.stdout)
		}
		if tc.fail != "" {
			if _, err := os.Stat(wantCalls[0][3]); !os.IsNotExist(err) {
				t.Errorf("%q: after failing %s the script leaves %s", tc.args, tc.fail, wantCalls[0][3])
			}
		}
	}
}

func TestUsage(t *testing.T) {
	f := setup(t)
	if r := start(t, "", "-h"); r.code != 0 || !strings.HasPrefix(r.stdout, "usage: rump-launch-xen") || r.stderr != "" {
		t.Errorf("-h: %+v", r)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "no kernel given"},
		{[]string{"-q", f.pv}, 2, "flag provided but not defined: -q"},
		{[]string{"-i", "-d", f.pv}, 2, "rump-launch-xen: -i and -d exclude each other"},
		{[]string{f.pv, "a", "b"}, 2, `unexpected argument "b": program arguments go after --`},
		{[]string{"-M", "-5", f.pv}, 2, "want a size in MiB"},
		{[]string{"-x", "Vcpus = 2", f.pv}, 1, "rump-launch-xen: -x Vcpus = 2: expected a key"},
		{[]string{"-x", "name = 'x'", f.pv}, 1, "use --name NAME"},
		{[]string{"-I", "vioif0", f.pv}, 1, `rump-launch-xen: -I vioif0: interface "vioif0" does not exist on Xen PV: use xenif0`},
		{[]string{"-I", "xenif0", f.hw}, 1, "use wm0"},
		{[]string{"-b", f.disk, f.hw}, 1, "no driver for any disk Xen HVM emulates"},
		{[]string{filepath.Join(f.dir, "missing.bin")}, 1, "no such file"},
		{[]string{f.pv, f.disk}, 1, "cannot read an initrd"},
		{[]string{"--protocol", "x", f.pv}, 1, "unknown boot protocol"},
	} {
		r := start(t, "", append([]string{"-s", f.state}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.msg)
		}
	}
	if calls := f.ts.Calls(); len(calls) != 0 {
		t.Errorf("refused launches ran:\n%s", show(calls))
	}
}

func TestToolstackMissing(t *testing.T) {
	f := setup(t)
	t.Setenv("PATH", filepath.Join(f.dir, "nothing"))
	r := start(t, "", "-s", f.state, f.pv)
	if r.code != 1 || !strings.Contains(r.stderr, "xl not found: install xen-utils") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if entries, _ := os.ReadDir(f.state); len(entries) != 0 {
		t.Errorf("state directory holds %v", entries)
	}
}

// A config naming xenifN without "cloner" launches: the launcher supplies
// "cloner" in the wire form (rumprun creates Xen interfaces through a
// cloner), as the old rumprun xen did.
func TestClonerSupplied(t *testing.T) {
	f := setup(t)
	cfg := filepath.Join(f.dir, "net.json")
	os.WriteFile(cfg, []byte(`{"net": [{"if": "xenif0", "type": "inet", "method": "dhcp"},
		{"if": "xenif1", "type": "inet", "method": "static", "addr": "10.0.0.2/24"}]}`), 0o644)
	r := start(t, "", "-s", f.state, "-c", cfg, f.pv)
	if r.code != 0 || strings.Contains(r.stderr, "cloner") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	calls := f.ts.Calls()
	if len(calls) != 4 || calls[2][0] != "xenstore-write" {
		t.Fatalf("calls:\n%s", show(calls))
	}
	got := unsanitise(calls[2][2])
	want := `{"rc":[{"bin":"httpd","argv":[]}],` +
		`"net":{"if":"xenif0","cloner":"true","type":"inet","method":"dhcp"},` +
		`"net":{"if":"xenif1","cloner":"true","type":"inet","method":"static","addr":"10.0.0.2","mask":"24"}}`
	if got != want {
		t.Errorf("xenstore value\n%s\nwant\n%s", got, want)
	}
	if vifs := xltest.Read(t, filepath.Join(f.state, "httpd.cfg"), "vif")["vif"].List; len(vifs) != 2 {
		t.Errorf("vifs %v, want two", vifs)
	}

	// -n shows the same wire form.
	r = start(t, "", "-n", "-s", f.state, "-c", cfg, f.pv)
	if r.code != 0 || !strings.Contains(r.stdout, `"cloner":"true","type":"inet","method":"dhcp"`) {
		t.Errorf("-n: exit %d, stdout:\n%s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}
