package xl_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/pkg/xl"
	"github.com/rumptools/rumptools/pkg/xl/xltest"
)

// nasty holds strings that need every kind of care in an xl file.
var nasty = []string{
	"",
	"plain",
	`{"cmdline":"prog 'a b' \"c\"","env":"X=\\y"}`,
	`it's`,
	`say "hi"`,
	`both ' and "`,
	`\`,
	`\\`,
	`trailing\`,
	`\'`,
	`\"`,
	"tab\there",
	"new\nline",
	"cr\rlf\n",
	"bell\a bs\b ff\f vt\v",
	"\x01\x02\x1b[0m\x7f",
	"UTF-8: äöü ✓ 日本",
	"\xff\xfe invalid UTF-8 \xc3",
	"# not a comment",
	"a;b=c",
	"[ 'x', ]",
	strings.Repeat(`'"\`, 300),
}

func allBytes() string {
	var b []byte
	for c := 1; c < 256; c++ {
		b = append(b, byte(c))
	}
	return string(b)
}

func TestQuoteRoundTripGo(t *testing.T) {
	for _, s := range append(nasty, allBytes()) {
		q, err := xl.Quote(s)
		if err != nil {
			t.Fatalf("Quote(%q): %v", s, err)
		}
		if strings.ContainsRune(q, '\n') {
			t.Errorf("Quote(%q) = %q spans lines", s, q)
		}
		set, err := xl.ParseSetting("k = " + q)
		if err != nil {
			t.Fatalf("ParseSetting(k = %s): %v", q, err)
		}
		if set.Value.S != s {
			t.Errorf("Quote(%q) reads back as %q", s, set.Value.S)
		}
	}
}

func TestQuoteChoosesQuotes(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:        `"plain"`,
		`{"a":"b"}`:    `'{"a":"b"}'`,
		`it's`:         `"it's"`,
		`{"a":"it's"}`: `'{"a":"it\'s"}'`,
		`a\b`:          `"a\\b"`,
		"x\ny":         `"x\ny"`,
		`'"`:           `"'\""`,
		`{"c":"\\"}`:   `'{"c":"\\\\"}'`,
		"raw\x01\x7f":  "\"raw\x01\x7f\"",
		"tab\tcr\r":    `"tab\tcr\r"`,
	} {
		got, err := xl.Quote(in)
		if err != nil || got != want {
			t.Errorf("Quote(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := xl.Quote("a\x00b"); !errors.Is(err, xl.ErrNUL) {
		t.Errorf("Quote with NUL: err = %v, want ErrNUL", err)
	}
}

// TestQuoteLibxlutil writes every nasty string, as a string and inside lists,
// and checks what Xen's parser reads back.
func TestQuoteLibxlutil(t *testing.T) {
	xltest.Parser(t)
	c := &xl.Config{}
	all := append(append([]string{}, nasty...), allBytes())
	for i, s := range all {
		c.Settings = append(c.Settings, xl.Setting{Key: key(i), Value: xl.String(s), Comment: "case " + s[:min(len(s), 10)]})
	}
	c.Set("lst", xl.Strings(all...))
	c.Set("nested", xl.List(xl.Strings(nasty[2:5]...), xl.String("x"), xl.List()))
	c.Set("memory", xl.Number(256))
	c.Set("hex", xl.Value{Kind: xl.KindNumber, S: "0x1f"})
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "q.cfg")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	xltest.Verify(t, f, c, "absent", "k")
}

func key(i int) string {
	return "s" + strings.Repeat("x", i%3) + "_" + string(rune('a'+i%26)) + "." + string(rune('0'+i/26))
}

func TestMarshalParseRoundTrip(t *testing.T) {
	c := &xl.Config{}
	c.Set("name", xl.String("rumprun-app"))
	c.Set("type", xl.String("pv"))
	c.Set("memory", xl.Number(64))
	c.Set("vif", xl.Strings("bridge=xenbr0,mac=00:16:3e:00:00:01", "bridge=xenbr1"))
	c.Set("disk", xl.List())
	c.Set("cmdline", xl.String(nasty[2]))
	c.Settings[0].Comment = "written by a test\n\nwith an empty line"
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := "# written by a test\n#\n# with an empty line\nname = \"rumprun-app\"\ntype = \"pv\"\nmemory = 64\n" +
		"vif = [ \"bridge=xenbr0,mac=00:16:3e:00:00:01\", \"bridge=xenbr1\" ]\ndisk = []\n" +
		`cmdline = '{"cmdline":"prog \'a b\' \\"c\\"","env":"X=\\\\y"}'` + "\n"
	if string(data) != want {
		t.Errorf("Marshal:\n%s\nwant:\n%s", data, want)
	}
	back, err := xl.Parse("t.cfg", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Settings) != len(c.Settings) {
		t.Fatalf("Parse found %d settings, want %d", len(back.Settings), len(c.Settings))
	}
	for i, s := range back.Settings {
		w := c.Settings[i]
		if s.Key != w.Key || !s.Value.Equal(w.Value) || s.Op != w.Op {
			t.Errorf("setting %d: %+v, want %+v", i, s, w)
		}
	}
	if back.Settings[0].Line != 4 || back.Settings[5].Line != 9 {
		t.Errorf("lines %d, %d; want 4, 9", back.Settings[0].Line, back.Settings[5].Line)
	}
}

func TestSetAndGet(t *testing.T) {
	c, err := xl.Parse("", []byte("a = \"1\"\nv = [\"x\"]\nb = 2\nv += [\"y\"]\na = \"3\"\nv += [\"z\"]\ns += \"p\"\ns += \"q\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]xl.Value{
		"a": xl.String("3"),
		"v": xl.Strings("x", "y", "z"),
		"b": xl.Number(2),
		"s": xl.String("pq"),
	} {
		if got, ok := c.Get(k); !ok || !got.Equal(want) {
			t.Errorf("Get(%s) = %s, %v; want %s", k, xltest.Show(got), ok, xltest.Show(want))
		}
	}
	if _, ok := c.Get("nope"); ok {
		t.Error("Get(nope) found a value")
	}
	c.Set("v", xl.Strings("only"))
	c.Set("new", xl.Number(7))
	var keys []string
	for _, s := range c.Settings {
		keys = append(keys, s.Key)
	}
	if got := strings.Join(keys, " "); got != "a v b a s s new" {
		t.Errorf("after Set, keys %q", got)
	}
	if got, _ := c.Get("v"); !got.Equal(xl.Strings("only")) {
		t.Errorf("Get(v) after Set = %s", xltest.Show(got))
	}
	if got := strings.Join(c.Keys(), " "); got != "a v b s new" {
		t.Errorf("Keys() = %q", got)
	}
}

func TestMarshalRefuses(t *testing.T) {
	for _, c := range []xl.Config{
		{Settings: []xl.Setting{{Key: "Name", Value: xl.String("x")}}},
		{Settings: []xl.Setting{{Key: "_x", Value: xl.String("x")}}},
		{Settings: []xl.Setting{{Key: "a-b", Value: xl.String("x")}}},
		{Settings: []xl.Setting{{Key: "", Value: xl.String("x")}}},
		{Settings: []xl.Setting{{Key: "k", Value: xl.String("a\x00")}}},
		{Settings: []xl.Setting{{Key: "k", Value: xl.List(xl.String("\x00"))}}},
		{Settings: []xl.Setting{{Key: "k", Value: xl.Value{Kind: xl.KindNumber, S: "-1"}}}},
		{Settings: []xl.Setting{{Key: "k", Value: xl.Value{Kind: xl.KindNumber, S: "0xAB"}}}},
	} {
		if data, err := c.Marshal(); err == nil {
			t.Errorf("Marshal(%+v) = %q, want an error", c.Settings, data)
		}
	}
}

// corpus holds texts with the verdict of libxlutil 4.17 (checked by
// TestParseAgreesWithLibxlutil) and, for errors, what Parse says.
var corpus = []struct {
	text string
	err  string // "" when valid; else a substring of Parse's error
}{
	{"k = \"a\"\n", ""},
	{"k = 'a'", ""},
	{"  k\t=   \"a\"  # comment\n", ""},
	{"# only a comment\n\n\n", ""},
	{"", ""},
	{";;k = 1;;\n;", ""},
	{"k = 1; l = 2\n", ""},
	{"k = 0x1f\n", ""},
	{"k = 007\n", ""},
	{"k = 1e3\n", ""},
	{"k.b_1 = \"x\"\n", ""},
	{"k = [ \"a\",\n\n # c\n 'b' ,]\n", ""},
	{"k = []\n", ""},
	{"k = [1, [2, [3, []]]]\n", ""},
	{"k = \"a\"\nk += \"b\"\n", ""},
	{"k = [\"a\"]\nk += [\"b\"]\n", ""},
	{"k += \"b\"\n", ""},
	{"k = \"a#b\" # c\n", ""},
	{"k = \"tab\\there\\n\\r\\a\\b\\f\\v\\\\\\\"\\'\"\n", ""},
	{"k = 'it\\'s \"q\"'\n", ""},
	{"k = \"raw\x01\x7f\x1b\xc3\xa4\"\n", ""},
	{"k = \"a\"\nk = \"b\"\n", ""},
	{"K = \"x\"\n", "expected a key"},
	{"_k = \"x\"\n", "expected a key"},
	{"k-b = \"x\"\n", "expected = or +="},
	{"kA = \"x\"\n", "expected = or +="},
	{"k = 1.5\n", "unexpected \".\""},
	{"k = -1\n", "expected a string, a number or a list"},
	{"k = 0xAB\n", "unexpected \"A\""},
	{"k = abc\n", "expected a string, a number or a list"},
	{"k=1 k2=2\n", "unexpected \"k\""},
	{"k = \"a\" \"b\"\n", "unexpected \"\\\"\""},
	{"k = \"a\",\n", "unexpected \",\""},
	{"k = ;\n", "expected a string"},
	{"k\n= 1\n", "expected = or +="},
	{"k =\n 1\n", "found end of line"},
	{"k = [ , ]\n", "expected a string"},
	{"k = [\"a\" \"b\"]\n", "expected , or ]"},
	{"k = [\"a\"\n", "list not closed"},
	{"k = \"ab\n", "before the end of the line"},
	{"k = \"ab", "not closed"},
	{"k = \"a\\\n\"\n", "not closed"},
	{"k = \"a\\qb\"\n", "invalid escape \\q"},
	{"k = \"a\\e\"\n", "invalid escape \\e"},
	{"k = \"a\\ b\"\n", "invalid escape"},
	{"k = \"a\\x41\"\n", "numeric escape \\x"},
	{"k = \"\\101\"\n", "numeric escape \\1"},
	{"k = \"a\"\r\n", "carriage return"},
	{"\xef\xbb\xbfk = \"a\"\n", "expected a key"},
	{"k = \"a\"\nk += [\"b\"]\n", "cannot add a list"},
	{"k = [\"a\"]\nk += \"b\"\n", "cannot add a list"},
	{"k = \"a\x00\"\n", "NUL"},
}

func TestParseCorpus(t *testing.T) {
	for _, tc := range corpus {
		_, err := xl.Parse("c.cfg", []byte(tc.text))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("Parse(%q): %v", tc.text, err)
		case tc.err != "" && err == nil:
			t.Errorf("Parse(%q) accepted it, want error containing %q", tc.text, tc.err)
		case tc.err != "" && !strings.Contains(err.Error(), tc.err):
			t.Errorf("Parse(%q) = %v, want error containing %q", tc.text, err, tc.err)
		case err != nil && !strings.HasPrefix(err.Error(), "c.cfg:"):
			t.Errorf("Parse(%q) error %q does not name the file", tc.text, err)
		}
	}
}

// TestParseAgreesWithLibxlutil: what Parse accepts, Xen's parser accepts with
// the same values, and what Parse refuses, Xen's parser refuses too (or, for
// numeric escapes, reads wrongly).
func TestParseAgreesWithLibxlutil(t *testing.T) {
	xltest.Parser(t)
	dir := t.TempDir()
	for i, tc := range corpus {
		f := filepath.Join(dir, key(i)+".cfg")
		if err := os.WriteFile(f, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := xl.Parse(f, []byte(tc.text))
		if err != nil {
			_, xerr := xltest.Check(t, f, "k")
			var rej *xltest.RejectError
			if !errors.As(xerr, &rej) && !strings.Contains(tc.text, "\\101") {
				t.Errorf("Parse(%q) refuses it (%v), libxlutil: %v", tc.text, err, xerr)
			}
			continue
		}
		xltest.Verify(t, f, c)
	}
}

func TestParseSetting(t *testing.T) {
	s, err := xl.ParseSetting(`on_crash = "preserve"  # keep it`)
	if err != nil || s.Key != "on_crash" || s.Op != xl.Assign || !s.Value.Equal(xl.String("preserve")) {
		t.Errorf("ParseSetting = %+v, %v", s, err)
	}
	s, err = xl.ParseSetting(`extra += ' x'`)
	if err != nil || s.Op != xl.Append {
		t.Errorf("ParseSetting(+=) = %+v, %v", s, err)
	}
	for in, want := range map[string]string{
		"":                  "found 0",
		"# nothing":         "found 0",
		"a = 1; b = 2":      "found 2",
		"a = 1\nb = 2":      "found 2",
		"vcpus":             "expected = or +=",
		"Memory = 1":        "expected a key",
		"memory = 1 2":      "unexpected \"2\"",
		`cpus = "0-3`:       "not closed",
		`cmdline = "a\x41"`: "numeric escape",
	} {
		_, err := xl.ParseSetting(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSetting(%q) = %v, want error containing %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "line ") {
			t.Errorf("ParseSetting(%q) error %q names a line", in, err)
		}
	}
}

func TestParseDeepNesting(t *testing.T) {
	text := "k = " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	if _, err := xl.Parse("", []byte(text)); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("deep nesting: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range corpus {
		f.Add([]byte(tc.text))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := xl.Parse("", data)
		if err != nil {
			return
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatalf("Marshal after Parse(%q): %v", data, err)
		}
		back, err := xl.Parse("", out)
		if err != nil {
			t.Fatalf("Parse(Marshal(Parse(%q))) = %v\n%s", data, err, out)
		}
		for _, k := range c.Keys() {
			v, _ := c.Get(k)
			w, _ := back.Get(k)
			if !v.Equal(w) {
				t.Fatalf("%s changed from %s to %s", k, xltest.Show(v), xltest.Show(w))
			}
		}
	})
}

func FuzzQuote(f *testing.F) {
	for _, s := range nasty {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := xl.Quote(s)
		if err != nil {
			if !strings.Contains(s, "\x00") {
				t.Fatalf("Quote(%q): %v", s, err)
			}
			return
		}
		set, err := xl.ParseSetting("k = " + q)
		if err != nil || set.Value.S != s {
			t.Fatalf("Quote(%q) = %s reads back as %q, %v", s, q, set.Value.S, err)
		}
	})
}
