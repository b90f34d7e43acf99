package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/pkg/initrd"
)

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "good.json", `{"cmdline": "app -v", "net": {"if": "vioif0", "type": "inet", "method": "dhcp"}}`)
	dialect := write(t, dir, "old.cfg", "{,\n\t\"env\": \"A=B\",\n\t\"cmdline\": \"app\",\n},\n")
	bad := write(t, dir, "bad.json", "{\n  \"hostnme\": \"x\"\n}\n")
	escape := write(t, dir, "esc.json", `{"cmdline": "say \"hi\""}`)
	xenif := write(t, dir, "xenif.json", `{"cmdline": "app", "net": {"if": "xenif0", "type": "inet", "method": "dhcp"}}`)

	for _, tc := range []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string // exact
		stderr string // substring; "" means empty
	}{
		{"help", "", []string{"-h"}, 0, usage, ""},
		{"long-help", "", []string{"--help"}, 0, usage, ""},
		{"valid-silent", "", []string{good}, 0, "", ""},
		{"stdin", `{"cmdline": "a"}`, nil, 0, "", ""},
		{"stdin-dash", `{"cmdline": "a"}`, []string{"-p", "-"}, 0, "{\n  \"cmdline\": \"a\"\n}\n", ""},
		{"canonical", "", []string{"-p", good}, 0, "{\n  \"cmdline\": \"app -v\",\n  \"net\": [\n    {\n      \"if\": \"vioif0\",\n      \"type\": \"inet\",\n      \"method\": \"dhcp\"\n    }\n  ]\n}\n", ""},
		{"wire", "", []string{"-w", good}, 0, `{"cmdline":"app -v","net":{"if":"vioif0","type":"inet","method":"dhcp"}}` + "\n", ""},
		{"dialect-warns-but-passes", "", []string{"-p", dialect}, 0, "{\n  \"cmdline\": \"app\",\n  \"env\": {\n    \"A\": \"B\"\n  }\n}\n",
			dialect + ":1:2: warning: extra comma ignored (rumprun dialect)\n" + dialect + ":2:9: warning: /env: \"env\": \"A=B\" is rumprun dialect"},
		{"invalid", "", []string{"-p", bad}, 1, "", bad + `:2:3: /hostnme: unknown key "hostnme" in json.cfg (did you mean "hostname"?)`},
		{"stdin-invalid", "[]", nil, 1, "", "<stdin>:1:1: json.cfg must be a JSON object, not an array"},
		{"one-bad-of-two", "", []string{good, bad}, 1, "", bad + ":2:3:"},
		{"wire-refused", "", []string{"-w", escape}, 1, "", escape + `:1:13: /cmdline: "cmdline" contains '"'`},
		{"target-ok", "", []string{"-t", "qemu", good}, 0, "", ""},
		{"target-wrong-name", "", []string{"-t", "xen", "-p", good}, 1, "", good + `:1:37: /net/0/if: interface "vioif0" does not exist on Xen PV: use xenifN`},
		{"target-table", "", []string{"-t", "qemu", "-v", good}, 0,
			good + " on qemu:\n  blk     (absent)  every disk the launcher attaches mounted at /mnt/<device>\n  /net/0  vioif0    virtio-net PCI device number 0 (-device virtio-net-pci, in slot order)\n  wire    72 bytes\n", ""},
		{"table-to-stderr-with-p", "", []string{"-t", "qemu", "-v", "-w", good}, 0, `{"cmdline":"app -v","net":{"if":"vioif0","type":"inet","method":"dhcp"}}` + "\n", "  wire    72 bytes"},
		{"xenif-without-cloner", "", []string{"-t", "xen", "-v", xenif}, 0,
			xenif + " on xen:\n  blk     (absent)  every disk the launcher attaches mounted at /mnt/<device>\n" +
				"  /net/0  xenif0    vif number 0 (vif = [...] in the xl config); created through a cloner (the launchers add \"cloner\": true)\n  wire    69 bytes\n", ""},
		{"xenif-without-cloner-ec2", "", []string{"-t", "ec2", "-v", xenif}, 0,
			xenif + " on ec2:\n  blk     (absent)  every disk the launcher attaches mounted at /mnt/<device>\n" +
				"  /net/0  xenif0    the instance's primary network interface; created through a cloner (the launchers add \"cloner\": true)\n  wire    69 bytes\n", ""},
		{"missing-file", "", []string{filepath.Join(dir, "nope.json")}, 1, "", "rump-cfgcheck: open " + filepath.Join(dir, "nope.json")},
		{"bad-target", "", []string{"-t", "kvm", good}, 2, "", `rump-cfgcheck: -t: unknown target "kvm"`},
		{"p-and-w", "", []string{"-p", "-w", good}, 2, "", "rump-cfgcheck: -p and -w cannot be used together"},
		{"bad-flag", "", []string{"-x"}, 2, "", "rump-cfgcheck: flag provided but not defined: -x\nrun 'rump-cfgcheck -h' for usage\n"},
		{"options-after-files", "", []string{good, "-w"}, 0, `{"cmdline":"app -v","net":{"if":"vioif0","type":"inet","method":"dhcp"}}` + "\n", ""},
		{"files-after-dashdash", "", []string{"-w", "--", "-p"}, 1, "", "rump-cfgcheck: open -p: no such file or directory"},
		{"kernel-not-elf", "", []string{"-k", good, good}, 1, "", "rump-cfgcheck: " + good + ": not an ELF file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.stdin, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			if r.stdout != tc.stdout {
				t.Errorf("stdout\n%q\nwant\n%q", r.stdout, tc.stdout)
			}
			if tc.stderr == "" && r.stderr != "" || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr\n%s\nwant it to contain\n%s", r.stderr, tc.stderr)
			}
		})
	}
}

func TestCLIInitrd(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.initrd")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	b := initrd.NewBuilder(initrd.Options{Gzip: true})
	if err := b.AddData("json.cfg", []byte("{\"cmdline\": \"app\",\n \"c\": \"x\"}\n"), 0o644, "test"); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteArchive(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := runCLI(t, "", p)
	if r.code != 1 || !strings.Contains(r.stderr, p+`:/json.cfg:2:2: /c: unknown key "c" in json.cfg: rumprun kernels would silently read it as "cmdline"`) {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// TestCLIKernel checks -k with a real multiboot image (the probe kernel,
// an hw kernel without bake record): the target follows the kernel.
func TestCLIKernel(t *testing.T) {
	k := probe.Kernel(t, probe.Flavor{Bits: 64})
	dir := t.TempDir()
	good := write(t, dir, "good.json", `{"cmdline": "app", "net": {"if": "vioif0", "type": "inet", "method": "dhcp"}}`)
	xen := write(t, dir, "xen.json", `{"cmdline": "app", "net": {"if": "xenif0", "cloner": true, "type": "inet", "method": "dhcp"}}`)
	if r := runCLI(t, "", "-k", k, "-v", good); r.code != 0 || !strings.HasPrefix(r.stdout, good+" on qemu:\n") {
		t.Errorf("hw kernel, qemu names: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "", "-k", k, xen); r.code != 1 || !strings.Contains(r.stderr, xen+`:1:34: /net/0/if: interface "xenif0" does not exist on QEMU`) {
		t.Errorf("hw kernel, xen names: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, "", "-k", k, "-t", "ec2", good); r.code != 1 || !strings.Contains(r.stderr, good+`:1:34: /net/0/if: interface "vioif0" does not exist on EC2 HVM: use no interface`) {
		t.Errorf("hw kernel on ec2: exit %d\n%s", r.code, r.stderr)
	}
}
