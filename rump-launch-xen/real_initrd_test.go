package main

import (
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/internal/realkernel"
	"github.com/rumptools/rumptools/pkg/launch"
	"github.com/rumptools/rumptools/pkg/xl/xltest"
)

// An hw initrd/1 kernel runs as an HVM guest with its initrd as the xl
// file's ramdisk, which the device model (QEMU) hands the kernel as its
// first multiboot module. Booted that way in QEMU, the program reads a file
// of the initrd and runs by the initrd's /json.cfg; given -N and program
// arguments, the launcher writes a replacement on the cmdline after
// rumpboot=initrd/1, and the program runs by it.
func TestRealHVMInitrd(t *testing.T) {
	k := realkernel.HW(t).ShowKernel(t)
	mkrd := realkernel.Tool(t, "rump-initrd")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	data := []byte(strings.Repeat("an HVM guest's initrd file\n", 500))
	if err := os.MkdirAll(filepath.Join(root, "srv"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "srv", "data.txt"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	file := fmt.Sprintf("file /srv/data.txt size=%d crc32=%08x mode=100644", len(data), crc32.ChecksumIEEE(data))
	cfg := filepath.Join(dir, "cfg.json")
	if err := os.WriteFile(cfg, []byte(`{"rc": [{"bin": "show", "argv": ["own", "cat:/srv/data.txt", "exit:2"]}], "hostname": "rd-host"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// A comma in the path: QEMU's -initrd splits modules at commas.
	rd := filepath.Join(dir, "show,hvm.initrd")
	if out, err := exec.Command(mkrd, "-z", "-c", cfg, "-o", rd, root).CombinedOutput(); err != nil {
		t.Fatalf("rump-initrd: %v\n%s", err, out)
	}

	cases := []struct {
		name string
		args []string
		want []string
		exit int
	}{
		{"own", nil, []string{"initrd/1: config from /json.cfg", "argv[1]=<own>", "hostname=<rd-host>"}, 2},
		{"replaced", []string{"-N", "hvm-rd", "-e", "T_ENV=x,y z", "--", "it's", "cat:/srv/data.txt", "exit:6"},
			[]string{"initrd/1: config from the command line", "argv[1]=<it's>", "env <T_ENV=x,y z>", "hostname=<hvm-rd>"}, 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := setup(t)
			args := append([]string{"-s", f.state, "--name", "hvm-" + c.name, k, rd}, c.args...)
			r := start(t, "", args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
			}
			got := xltest.Read(t, filepath.Join(f.state, "hvm-"+c.name+".cfg"), "type", "ramdisk", "cmdline")
			if got["type"].S != "hvm" || got["ramdisk"].S != strings.ReplaceAll(rd, ",", ",,") {
				t.Errorf("xl reads type %s ramdisk %s", xltest.Show(got["type"]), xltest.Show(got["ramdisk"]))
			}
			cmdline, has := got["cmdline"]
			if c.args == nil && has {
				t.Errorf("cmdline = %s: the initrd's /json.cfg is the config", xltest.Show(cmdline))
			}
			if c.args != nil && !strings.HasPrefix(cmdline.S, launch.WordCanonical+" {") {
				t.Errorf("cmdline = %s: want the canonical config after %s", xltest.Show(cmdline), launch.WordCanonical)
			}
			// QEMU stands for the device model: ramdisk is its -initrd,
			// cmdline its -append.
			o := probe.BootOptions{Kernel: k, Memory: 256, Modules: []probe.BootModule{{Path: rd}}, Append: cmdline.S, NoAppend: !has}
			res := probe.Boot(t, o)
			lines := strings.Split(strings.ReplaceAll(string(res.Output), "\r", ""), "\n")
			for _, want := range append([]string{"argc=4", "argv[0]=<show>", file}, c.want...) {
				if !slices.Contains(lines, want) {
					t.Errorf("no line %q in the output:\n%s", want, res.Output)
				}
			}
			if res.ExitStatus != c.exit {
				t.Errorf("exit %d, want %d", res.ExitStatus, c.exit)
			}
		})
	}
}
