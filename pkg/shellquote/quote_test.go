package shellquote

import (
	"os/exec"
	"reflect"
	"testing"
)

func TestQuote(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "''"},
		{"plain", "plain"},
		{"if=none,id=ld0,file=a.img", "if=none,id=ld0,file=a.img"},
		{"two words", "'two words'"},
		{"it's", `'it'\''s'`},
		{"'", `''\'''`},
		{"$HOME", "'$HOME'"},
		{"~user", "'~user'"},
		{"#x", "'#x'"},
		{"=ls", "'=ls'"},
		{"a;b", "'a;b'"},
		{"tab\there", "'tab\there'"},
		{"grüß", "'grüß'"},
		{`back\slash`, `'back\slash'`},
	} {
		if got := Quote(c.in); got != c.want {
			t.Errorf("Quote(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestJoinAssignmentInCommandPosition(t *testing.T) {
	if got, want := Join([]string{"A=b", "C=d"}), "'A=b' C=d"; got != want {
		t.Errorf("Join = %s, want %s", got, want)
	}
}

// TestRoundTrip has a real shell read the words back.
func TestRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	words := []string{
		"", " ", "a b", "it's", `"dq"`, `\`, `\\n`, "$(echo no)", "`echo no`", "*", "?", "[a]",
		"~", "#c", "=x", "!x", "a\nb", "tab\t", "grüß 😀", "{a,b}", "x=y", "-n", "&", "|", ";", "<>", "''",
		"\x01\x7f\xff",
	}
	script := `for a in "$@"; do printf '%s\0' "$a"; done`
	cmd := exec.Command(sh, "-c", Join(append([]string{sh, "-c", script, "sh"}, words...)))
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	start := 0
	for i, b := range out {
		if b == 0 {
			got = append(got, string(out[start:i]))
			start = i + 1
		}
	}
	if !reflect.DeepEqual(got, words) {
		t.Errorf("round trip through sh:\n got %q\nwant %q", got, words)
	}
}
