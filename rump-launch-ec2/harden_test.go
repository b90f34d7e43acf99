package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/pkg/awsfake"
	"github.com/rumptools/rumptools/pkg/xl/xltest"
)

// An INITRD for an hw kernel that is not one, or that readers could read
// two ways, is refused: no image is written, nothing is sent.
func TestInitrdRefusals(t *testing.T) {
	srv := awsfake.New(t)
	srv.Env(t)
	dir := t.TempDir()
	k := xltest.Kernel{Initrd: true, Programs: []string{"hello"}}.Write(t, dir, "hw.bin")
	hostile := filepath.Join(dir, "hostile.initrd")
	jsonFile := filepath.Join(dir, "app.json")
	if os.WriteFile(hostile, probe.HostileInitrd(), 0o644) != nil || os.WriteFile(jsonFile, []byte(`{"cmdline": "app"}`), 0o644) != nil {
		t.Fatal("writing the inputs")
	}
	img := filepath.Join(dir, "out.img")
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-o", img, k, hostile}, "rump-launch-ec2: " + hostile + ": " + probe.HostileError + "\n"},
		{[]string{"-o", img, k, jsonFile}, "rump-launch-ec2: " + jsonFile + ": initrd: not a newc cpio archive (plain or gzip)\n"},
		{[]string{k, jsonFile}, "rump-launch-ec2: " + jsonFile + ": initrd: not a newc cpio archive (plain or gzip)\n"},
	} {
		r := ec2(t, "", c.args...)
		if r.code != 1 || r.stdout != "" || r.stderr != c.msg {
			t.Errorf("%q: exit %d, stdout %q, stderr\n %q\nwant\n %q", c.args, r.code, r.stdout, r.stderr, c.msg)
		}
		if _, err := os.Stat(img); err == nil {
			t.Errorf("%q: wrote the image", c.args)
		}
	}
	if n, _ := srv.Stats(); n != 0 {
		t.Errorf("%d requests made by refused runs", n)
	}
}
