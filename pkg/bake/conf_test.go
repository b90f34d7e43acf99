package bake

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func parse(t *testing.T, files ...string) (*Set, error) {
	t.Helper()
	s := NewSet()
	for i, f := range files {
		if err := s.Parse("f"+string(rune('1'+i))+".conf", strings.NewReader(f)); err != nil {
			return s, err
		}
	}
	return s, nil
}

func TestToolchainConf(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "toolchain", "rumprun-bake.conf"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := parse(t, string(b))
	if err != nil {
		t.Fatal(err)
	}
	var names, descs []string
	for _, c := range s.Public() {
		names = append(names, c.Name)
		descs = append(descs, c.Description)
	}
	if want := []string{"hw_generic", "hw_virtio", "hw_virtio_scsi", "xen_pv", "xen_pci"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("public configs %q", names)
	}
	if descs[1] != "virtio targets (e.g. QEMU/KVM)" || descs[0] != "generic targets, includes (almost) all drivers" {
		t.Errorf("descriptions %q", descs)
	}
	v, vs := s.Lookup("hw_virtio"), s.Lookup("hw_virtio_scsi")
	if !reflect.DeepEqual(vs.Components, append(append([]string{}, v.Components...), "-lrumpdev_virtio_vioscsi", "-lrumpdev_scsipi")) {
		t.Errorf("hw_virtio_scsi %q", vs.Components)
	}
	if v.Components[0] != "-lrumpvfs" || v.Components[len(v.Components)-1] != "-lrumpdev_virtio_viornd" {
		t.Errorf("hw_virtio %q", v.Components)
	}
	if v.Platform() != "hw" || s.Lookup("xen_pci").Platform() != "xen" || !s.Lookup("_base").Private() || v.Private() {
		t.Error("platform or private wrong")
	}
}

func TestConfLanguage(t *testing.T) {
	s, err := parse(t, `version 20160209   # trailing comment
# a comment line
conf _a
	create 'part "a"'
	add -la \
	    -lb	-lc # -ld
	add -la
fnoc
conf hw_x
	create "x \"quoted\" \\ here"
	assimilate _a
	remove -lb
	add one\ word
fnoc
`, `version 20160209
conf hw_x
	add -lz
fnoc
conf hw_y
	create "y"
	assimilate hw_x
	nuke
	add -lonly
fnoc
`)
	if err != nil {
		t.Fatal(err)
	}
	a, x, y := s.Lookup("_a"), s.Lookup("hw_x"), s.Lookup("hw_y")
	if a.Description != `part "a"` || !reflect.DeepEqual(a.Components, []string{"-la", "-lb", "-lc"}) {
		t.Errorf("_a: %q %q", a.Description, a.Components)
	}
	if x.Description != `x "quoted" \ here` || !reflect.DeepEqual(x.Components, []string{"-la", "-lc", "one word", "-lz"}) {
		t.Errorf("hw_x: %q %q", x.Description, x.Components)
	}
	if !reflect.DeepEqual(y.Components, []string{"-lonly"}) || y.Description != "y" {
		t.Errorf("hw_y: %q", y.Components)
	}
	if x.Created.String() != "f1.conf:10:2" {
		t.Errorf("created at %s", x.Created)
	}
	// -m commands.
	for _, m := range []string{"add -lm1 -lm2", "remove -la", "assimilate hw_y", `add "-lq"`} {
		if err := s.Modify("hw_x", m, "-m"); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"-lc", "one word", "-lz", "-lm1", "-lm2", "-lonly", "-lq"}; !reflect.DeepEqual(x.Components, want) {
		t.Errorf("after -m: %q", x.Components)
	}
	if err := s.Modify("hw_x", "nuke", "-m"); err != nil || len(x.Components) != 0 {
		t.Errorf("nuke: %v %q", err, x.Components)
	}
}

func TestConfErrors(t *testing.T) {
	const v = "version 20160209\n"
	cases := []struct{ in, want string }{
		{"", `f1.conf: empty config file (expected "version 20160209")`},
		{"# only a comment\n", `f1.conf: empty config file`},
		{"conf a\n", `f1.conf:1:1: expected "version 20160209" before "conf"`},
		{"version 20150101\n", `f1.conf:1:9: unsupported version "20150101" (rump-bake reads 20160209)`},
		{"version\n", `f1.conf:1:1: version takes one argument`},
		{v + "version 20160209\n", `f1.conf:2:1: version given twice`},
		{v + "conf a\nconf b\n", `f1.conf:3:1: conf inside conf a (missing fnoc?)`},
		{v + "fnoc\n", `f1.conf:2:1: fnoc without conf`},
		{v + "conf a\n create x\n", `f1.conf:2:6: conf a is not closed by fnoc`},
		{v + "add -lx\n", `f1.conf:2:1: add outside a conf ... fnoc block`},
		{v + "frobnicate\n", `f1.conf:2:1: unknown directive "frobnicate"`},
		{v + "conf a-b\nfnoc\n", `f1.conf:2:6: invalid config name "a-b"`},
		{v + "conf\n", `f1.conf:2:1: conf takes one config name`},
		{v + "conf a\n\tcreate x\n\tcreate y\nfnoc\n", `f1.conf:4:2: config a already exists (created at f1.conf:3:2)`},
		{v + "conf a\n\tcreate\nfnoc\n", `f1.conf:3:2: create takes one argument, the description (quote it)`},
		{v + "conf a\n\tcreate two words\nfnoc\n", `create takes one argument`},
		{v + "conf a\n\tadd -lx\nfnoc\n", `f1.conf:3:2: add: config a does not exist (create it first)`},
		{v + "conf a\n\tcreate x\n\tadd\nfnoc\n", `f1.conf:4:2: add needs at least one component`},
		{v + "conf a\n\tcreate x\n\tremove -lx\nfnoc\n", `f1.conf:4:9: remove: -lx is not in config a`},
		{v + "conf a\n\tcreate x\n\tassimilate _nope\nfnoc\n", `f1.conf:4:13: assimilate: no config _nope`},
		{v + "conf a\n\tcreate x\n\tassimilate a\nfnoc\n", `cannot assimilate itself`},
		{v + "conf a\n\tcreate x\n\tnuke now\nfnoc\n", `f1.conf:4:7: nuke takes no arguments`},
		{v + "conf a\n\tcreate \"x\nfnoc\n", `f1.conf:3:9: unterminated " quote`},
		{v + "conf a\nfnoc extra\n", `f1.conf:3:6: fnoc takes no arguments`},
		{v + "conf a\n\tcreate x \\\n\tadd -lb\nfnoc\n", `f1.conf:3:2: create takes one argument`},
	}
	for _, c := range cases {
		_, err := parse(t, c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
	s, _ := parse(t, v+"conf hw_a\n\tcreate x\nfnoc\n")
	for m, want := range map[string]string{
		"":                  "-m: want exactly one command, got 0",
		"conf hw_b":         `-m:1:1: unknown command "conf" (want create, add, remove, assimilate or nuke)`,
		"remove -lnot":      "-m:1:8: remove: -lnot is not in config hw_a",
		"add 'unterminated": "-m:1:5: unterminated ' quote",
	} {
		if err := s.Modify("hw_a", m, "-m"); err == nil || err.Error() != want {
			t.Errorf("-m %q: %v, want %q", m, err, want)
		}
	}
}

func FuzzConfParse(f *testing.F) {
	b, _ := os.ReadFile(filepath.Join("..", "..", "testdata", "toolchain", "rumprun-bake.conf"))
	f.Add(string(b))
	f.Add("version 20160209\nconf a\n\tcreate \"x \\\" y\" \\\n\tadd 'q'\nfnoc\n")
	f.Fuzz(func(t *testing.T, in string) {
		s := NewSet()
		err := s.Parse("f", strings.NewReader(in))
		if err == nil {
			for _, c := range s.Public() {
				if c.Private() || s.Lookup(c.Name) != c {
					t.Fatal("inconsistent set")
				}
			}
		} else if _, ok := err.(*SyntaxError); !ok && !strings.HasPrefix(err.Error(), "f: ") {
			t.Fatalf("error without position: %v", err)
		}
		_ = s.Modify("hw_x", in, "-m")
	})
}
