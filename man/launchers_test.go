package man

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	kiso "github.com/kdomanski/iso9660"
	"github.com/mattn/go-shellwords"

	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/xl"
	"github.com/rumptools/rumptools/pkg/xl/xltest"
)

// TestLaunchersShareOptions runs rump-launch-qemu, rump-launch-xen,
// rump-launch-ec2, rump-launch-gce and rump-mkiso with the options they share and checks
// that each gives them the same meaning, in what it would hand the guest:
//   - -N sets the hostname in the config, and the machine name (QEMU's
//     -name, the Xen domain, the EC2 and GCE image names, the ISO's label) defaults
//     to it; --name sets the machine name alone; without either the machine
//     name is the kernel's file name without extension;
//   - -c - reads the config from standard input;
//   - -e NAME=VALUE adds a variable after the config's own;
//   - the words after -- are the program's argv, exactly.
func TestLaunchersShareOptions(t *testing.T) {
	bins := buildTools(t)
	dir := t.TempDir()
	kernel := xltest.Kernel{Programs: []string{"app"}}.Write(t, dir, "app.bin")
	stdin := `{"env": {"C": "D"}}`
	common := []string{"-c", "-", "-e", "A=B"}
	argv := []string{"x", "two words", "it's"}
	_, grubErr := exec.LookPath("grub-mkimage")

	for _, c := range []struct {
		opts       []string
		host, name string
		images     bool // also check rump-launch-ec2, rump-launch-gce and rump-mkiso (slower: GRUB)
	}{
		{nil, "", "app", false},
		{[]string{"-N", "web"}, "web", "web", true},
		{[]string{"-N", "web", "--name", "box"}, "web", "box", true},
		{[]string{"--name", "box"}, "", "box", false},
	} {
		args := append(append(append(slices.Clone(c.opts), common...), kernel, "--"), argv...)
		want := fmt.Sprintf("hostname %q, machine name %q, env [C=D A=B], argv %q", c.host, c.name, argv)
		check := func(tool, name, wire string) {
			t.Helper()
			cfg, _, err := config.Parse(tool, []byte(wire))
			if err != nil {
				t.Errorf("%s %q: the config it sends does not parse: %v\n%s", tool, args, err, wire)
				return
			}
			var env []string
			for _, e := range cfg.Env {
				env = append(env, e.Name+"="+e.Value)
			}
			var got []string
			if len(cfg.RC) == 1 {
				got = cfg.RC[0].Argv
			}
			have := fmt.Sprintf("hostname %q, machine name %q, env %v, argv %q", cfg.Hostname, name, env, got)
			if have != want {
				t.Errorf("%s %q:\n got %s\nwant %s", tool, args, have, want)
			}
		}

		// QEMU: one shell command, -name NAME and -append 'CONFIG'.
		out := runLauncher(t, filepath.Join(bins, "rump-launch-qemu"), dir, stdin, append([]string{"-n", "--accel", "tcg"}, args...)...)
		words, err := (&shellwords.Parser{}).Parse(strings.TrimSuffix(out, "\n"))
		if err != nil {
			t.Fatalf("rump-launch-qemu -n: %v\n%s", err, out)
		}
		check("rump-launch-qemu", after(t, words, "-name"), after(t, words, "-append"))

		// Xen (HVM for an hw kernel): the xl file in the -n script.
		out = runLauncher(t, filepath.Join(bins, "rump-launch-xen"), dir, stdin, append([]string{"-n", "-s", dir}, args...)...)
		xlFile, err := xl.Parse("xl file", []byte(match(t, out, `(?s)<<'XL_CONFIG' \|\| exit 1\n(.*\n)XL_CONFIG\n`)))
		if err != nil {
			t.Fatal(err)
		}
		name, _ := xlFile.Get("name")
		cmdline, _ := xlFile.Get("cmdline")
		check("rump-launch-xen", name.S, cmdline.S)

		if grubErr != nil || !c.images {
			continue
		}
		// EC2 (HVM): the image name in the -n calls, the config in the
		// image that -o - writes.
		out = runLauncher(t, filepath.Join(bins, "rump-launch-ec2"), dir, stdin, append([]string{"-n", "--region", "eu-west-1"}, args...)...)
		name = xl.String(match(t, out, `(?m)^IMAGE_NAME=(\S+)-"\$SNAPSHOT_ID"$`))
		_, wire := isoConfig(t, runLauncher(t, filepath.Join(bins, "rump-launch-ec2"), dir, stdin, append([]string{"-o", "-"}, args...)...))
		check("rump-launch-ec2", name.S, wire)

		// GCE: the image name in the -n calls (the machine name and the
		// archive's ID), the config on the disk in the archive -o writes.
		out = runLauncher(t, filepath.Join(bins, "rump-launch-gce"), dir, stdin, append([]string{"-n", "--project", "my-project", "--zone", "us-central1-a", "--bucket", "my-bucket"}, args...)...)
		name = xl.String(match(t, out, `(?m)^gcloud compute images describe (\S+)-[0-9a-f]{12} `))
		_, wire = isoConfig(t, diskPrefix(t, runLauncher(t, filepath.Join(bins, "rump-launch-gce"), dir, stdin, append([]string{"-o", "-"}, args...)...)))
		check("rump-launch-gce", name.S, wire)

		// ISO: the volume label is the machine name, upper case.
		label, wire := isoConfig(t, runLauncher(t, filepath.Join(bins, "rump-mkiso"), dir, stdin, append([]string{"-o", "-"}, args...)...))
		if label == strings.ToUpper(c.name) {
			label = c.name
		}
		check("rump-mkiso", label, wire)
	}
	if grubErr != nil {
		t.Skip("rump-launch-ec2, rump-launch-gce and rump-mkiso not checked: grub-mkimage not installed (Debian packages grub-pc-bin, grub-common)")
	}
}

// runLauncher runs a tool with the host's PATH (for grub-mkimage) and
// returns its standard output; any failure fails the test.
func runLauncher(t *testing.T, bin, dir, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "AWS_CONFIG_FILE="+filepath.Join(dir, "no-aws"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-aws"), "AWS_EC2_METADATA_DISABLED=true", "SOURCE_DATE_EPOCH=0")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %q: %v\n%s", filepath.Base(bin), args, err, errb.String())
	}
	return out.String()
}

// after returns the word after flag in a command's words.
func after(t *testing.T, words []string, flag string) string {
	t.Helper()
	for i, w := range words {
		if w == flag && i+1 < len(words) {
			return words[i+1]
		}
	}
	t.Fatalf("no %s in %q", flag, words)
	return ""
}

func match(t *testing.T, s, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in\n%s", re, s)
	}
	return m[1]
}

// isoConfig returns the volume label and /json.cfg of an ISO image.
func isoConfig(t *testing.T, image string) (label, cfg string) {
	t.Helper()
	img, err := kiso.OpenImage(strings.NewReader(image))
	if err != nil {
		t.Fatal(err)
	}
	label, _ = img.Label()
	root, err := img.RootDir()
	if err != nil {
		t.Fatal(err)
	}
	kids, err := root.GetChildren()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kids {
		if k.Name() == "json.cfg" {
			b, err := io.ReadAll(k.Reader())
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimSpace(label), string(b)
		}
	}
	t.Fatal("the image has no /json.cfg")
	return "", ""
}

// diskPrefix reads a Compute Engine archive (gzip, tar, disk.raw) with
// archive/tar and returns the first 4 MiB of disk.raw, where the ISO is.
func diskPrefix(t *testing.T, archive string) string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	h, err := tr.Next()
	if err != nil || h.Name != "disk.raw" {
		t.Fatalf("archive: %v, first entry %+v", err, h)
	}
	b, err := io.ReadAll(io.LimitReader(tr, 4<<20))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
