package qemu

import (
	"reflect"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/pkg/shellquote"
)

// SplitArgs never panics, and the words it returns, quoted as the
// launchers' -n output quotes them, split back into the same words: a
// user can paste printed words into -g.
func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{"", "-smp 2", `-device 'e1000,netdev=n 1'`, `-append "a \"b\""`, "-name $HOME", "-name `id`",
		`-x 'a;b' "c|d" e\&f '<>'`, "a ; b", "2>x", `"unbalanced`, "a\\\nb", "(x)", "'\n'", "é 'ü' \"ö\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := SplitArgs(s)
		if err != nil {
			return
		}
		q := make([]string, len(words))
		for i, w := range words {
			q[i] = shellquote.Quote(w)
		}
		joined := strings.Join(q, " ")
		again, err := SplitArgs(joined)
		if err != nil {
			t.Fatalf("SplitArgs(%q) = %q; quoted %s: %v", s, words, joined, err)
		}
		if len(words) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(words, again) {
			t.Fatalf("SplitArgs(%q) = %q; quoted %s splits as %q", s, words, joined, again)
		}
	})
}
