package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/internal/realkernel"
)

// identify runs rump-bake -i -j on a kernel and decodes the answer.
func identify(t *testing.T, path string) (rec struct {
	Platform string
	Stripped bool
	Bake     struct {
		Config, Platform, Arch string
		Programs               []string
	}
	Toolchain struct{ Tooldir string }
}) {
	t.Helper()
	code, stdout, stderr := runIn("-i", "-j", path)
	if code != 0 {
		t.Fatalf("-i %s: exit %d: %s", path, code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatalf("-i -j: %v\n%s", err, stdout)
	}
	return rec
}

// A real toolchain's objects bake, quietly, into kernels that load the
// same bytes as the toolchain's own rumprun-bake makes, for each platform
// and for several programs in one kernel; -i tells them apart stripped or
// not.
func TestRealBakeMatchesRumprunBake(t *testing.T) {
	type bakeCase struct {
		name   string
		tc     func(testing.TB) *realkernel.Toolchain
		config string
		progs  []string
	}
	cases := []bakeCase{
		{"hw_generic", realkernel.HW, "hw_generic", []string{"show"}},
		{"hw_virtio", realkernel.HW, "hw_virtio", []string{"show"}},
		{"two programs", realkernel.HW, "hw_generic", []string{"first", "second"}},
		{"xen_pv", realkernel.Xen, "xen_pv", []string{"show"}},
		{"xen_pci", realkernel.Xen, "xen_pci", []string{"show"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc := c.tc(t)
			dir := t.TempDir()
			var objs []string
			for _, p := range c.progs {
				objs = append(objs, tc.Compile(t, filepath.Join(dir, p), "show"))
			}
			ours := filepath.Join(dir, "ours.bin")
			// --protocol rumprun: today's kernel, the one rumprun-bake makes (by
			// default hw and xen kernels get the initrd/1 support linked in).
			args := append([]string{"-q", "--protocol", "rumprun", "-C", c.config, "-o", ours}, objs...)
			code, stdout, stderr := runIn(args...)
			if code != 0 || stdout != "" || stderr != "" {
				t.Fatalf("rump-bake -q: exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			theirs := filepath.Join(dir, "theirs.bin")
			tc.UpstreamBake(t, c.config, theirs, objs...)
			if !bytes.Equal(realkernel.LoadedImage(t, ours), realkernel.LoadedImage(t, theirs)) {
				t.Fatalf("%s: the loaded image differs from rumprun-bake's", c.config)
			}

			stripped := filepath.Join(dir, "stripped.bin")
			data, err := os.ReadFile(ours)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(stripped, data, 0o755); err != nil {
				t.Fatal(err)
			}
			tc.Run(t, tc.Bin("strip"), stripped)
			for _, k := range []string{ours, stripped} {
				id := identify(t, k)
				wantPlatform := strings.SplitN(c.config, "_", 2)[0]
				if id.Platform != wantPlatform || id.Bake.Config != c.config || id.Bake.Arch != "x86_64" ||
					strings.Join(id.Bake.Programs, " ") != strings.Join(c.progs, " ") ||
					id.Toolchain.Tooldir != tc.Dir || id.Stripped != (k == stripped) {
					t.Errorf("-i %s: %+v", filepath.Base(k), id)
				}
			}
		})
	}
}

// A kernel baked from two programs runs both, in bake order, each with
// the argv its rc entry gives.
func TestRealTwoProgramsBoot(t *testing.T) {
	tc := realkernel.HW(t)
	dir := t.TempDir()
	a := tc.Compile(t, filepath.Join(dir, "first"), "show")
	b := tc.Compile(t, filepath.Join(dir, "second"), "show")
	k := filepath.Join(dir, "two.bin")
	if code, _, stderr := runIn("-q", "-o", k, a, b); code != 0 {
		t.Fatalf("bake: %s", stderr)
	}
	cfg := `{"rc": [{"bin": "first", "argv": ["one"]}, {"bin": "second", "argv": ["two", "exit:4"]}]}`
	r := probe.Boot(t, probe.BootOptions{Kernel: k, Append: cfg})
	if len(r.Calls) != 2 || r.Calls[0].Name != "first" || r.Calls[1].Name != "second" ||
		r.Calls[0].Returned != 0 || r.Calls[1].Returned != 4 {
		t.Fatalf("calls %+v\n%s", r.Calls, r.Output)
	}
	for _, want := range []string{"argv[1]=<one>", "argv[1]=<two>"} {
		if !bytes.Contains(r.Output, []byte(want)) {
			t.Errorf("no %q in\n%s", want, r.Output)
		}
	}
}
