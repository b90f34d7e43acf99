package schema

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/pkg/config"
)

func doc(t *testing.T, s string) *config.Document {
	t.Helper()
	d, _, err := config.ReadDocument("t.json", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestValidateLocates checks that gojsonschema's findings come back at the
// right value (or key) of the source, dialect included.
func TestValidateLocates(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // "line:col pointer"
	}{
		{`{"cmdline": "a"}`, nil},
		{`{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "dhpc"}}`, []string{"1:68 /net/0/method"}},
		{"{\"cmdline\": \"a\",\n \"hostnme\": \"x\"}", []string{"2:2 /hostnme"}},
		{`{"rc": [{"bin": "a"}]}`, []string{"1:9 /rc/0"}},
		{`{"cmdline": "a", "env": {"A=B": "c"}}`, []string{"1:26 /env/A=B", "1:26 /env/A=B"}}, // the name, and the pattern it breaks
		{`{"cmdline": "a", "net": "vioif0"}`, []string{"1:25 /net"}},
		// Dialect: "cloner": "yes" stays a string (only true/false convert).
		{`{"cmdline": "a", "net": {"if": "xenif0", "cloner": "yes", "type": "inet", "method": "dhcp"},}`, []string{"1:52 /net/0/cloner"}},
		{`{"cmdline": "a", "a/b~": 1}`, []string{"1:18 /a~1b~0"}},
	} {
		ds := Validate(doc(t, tc.in))
		var got []string
		for _, d := range ds {
			if d.Warning || d.File != "t.json" || !strings.HasPrefix(d.Msg, "JSON Schema: ") {
				t.Errorf("%s: bad diagnostic %+v", tc.in, d)
			}
			got = append(got, strings.Join([]string{itoa(d.Line) + ":" + itoa(d.Col), d.Pointer}, " "))
		}
		if strings.Join(got, "; ") != strings.Join(tc.want, "; ") {
			t.Errorf("%s:\n got %v\nwant %v\n%v", tc.in, got, tc.want, ds)
		}
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// TestValidateNoPanic: gojsonschema dereferences nil on an "enum" given a
// number beyond float64; that must be an error, not a crash.
func TestValidateNoPanic(t *testing.T) {
	ds := Validate(doc(t, `{"rc": [{"bin": "a", "argv": [], "runmode": 1e400}]}`))
	if len(ds) != 1 || !strings.Contains(ds[0].Msg, "JSON Schema validation failed: gojsonschema failed") {
		t.Fatalf("got %v", ds)
	}
	_, _, err := Check("t.json", []byte(`{"rc": [{"bin": "a", "argv": [], "runmode": 1e400}]}`))
	if err == nil || !strings.Contains(err.Error(), `t.json:1:45: /rc/0/runmode: "runmode" must be one of "&", "|", not 1e400`) {
		t.Fatalf("Check: %v", err)
	}
}

// TestCheck: with the embedded schema Check is Parse (the schema finds
// nothing Parse misses); with a stricter schema, what only the schema
// rejects is an error, and there is no config.
func TestCheck(t *testing.T) {
	valid := []byte(`{"hostname": "web1", "cmdline": "app", "net": {"if": "vioif0", "type": "inet", "method": "dhcp"},}`)
	c, warns, err := Check("t.json", valid)
	if err != nil || c == nil || c.Hostname != "web1" || len(warns) != 1 {
		t.Fatalf("Check(valid) = %v, %v, %v", c, warns, err)
	}
	invalid := []byte(`{"cmdline": "a", "hostnme": "x", "net": {"if": "vioif0", "type": "inet", "method": "dhpc"}}`)
	_, _, perr := config.Parse("t.json", invalid)
	_, _, cerr := Check("t.json", invalid)
	if perr == nil || cerr == nil || perr.Error() != cerr.Error() {
		t.Fatalf("Check reports\n%v\nParse reports\n%v", cerr, perr)
	}
	if _, _, err := Check("t.json", []byte(`{"cmdline": "a",`)); err == nil || !strings.Contains(err.Error(), "t.json:1:17: unexpected end of input") {
		t.Fatalf("Check(truncated): %v", err)
	}

	strict, err := Compile([]byte(`{"type": "object", "properties": {"hostname": {"type": "string", "maxLength": 3}}}`))
	if err != nil {
		t.Fatal(err)
	}
	c, _, err = strict.Check("t.json", valid)
	l, ok := err.(config.ErrorList)
	if c != nil || !ok || len(l) != 1 || l[0].Line != 1 || l[0].Col != 14 || l[0].Pointer != "/hostname" {
		t.Fatalf("strict Check = %v, %v", c, err)
	}
	// An error Parse reports about the same value is not repeated.
	_, _, err = strict.Check("t.json", []byte(`{"hostname": "we_b1", "cmdline": "app"}`))
	if l, ok := err.(config.ErrorList); !ok || len(l) != 1 || !strings.Contains(l[0].Msg, "invalid hostname") {
		t.Fatalf("strict Check of a bad hostname = %v", err)
	}
}

func TestCompile(t *testing.T) {
	if _, err := Compile([]byte(`{"type": 7}`)); err == nil {
		t.Error("Compile accepts a broken schema")
	}
	if Default() != Default() {
		t.Error("Default compiles more than once")
	}
}

// Check costs work in proportion to the document, however many errors it
// finds: each of gojsonschema's findings is matched against Parse's errors
// through an index, not by comparing it with every one of them.
func TestCheckLinear(t *testing.T) {
	gen := func(n int) []byte {
		var b strings.Builder
		b.WriteString(`{"cmdline": "a", "env": {`)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			// A number: an error for both checkers. Names as long as real ones.
			fmt.Fprintf(&b, `"SERVICE_CONFIGURATION_DIRECTORY_%d": %d`, i, i)
		}
		b.WriteString("}}")
		return []byte(b.String())
	}
	allocs := func(n int) float64 {
		data := gen(n)
		return testing.AllocsPerRun(1, func() {
			if _, _, err := Check("t.json", data); err == nil {
				t.Fatal("no error")
			}
		})
	}
	const n = 4000
	if a, b := allocs(n), allocs(2*n); b > 2.5*a {
		t.Errorf("allocations grow from %.0f to %.0f when the errors double", a, b)
	}
}
