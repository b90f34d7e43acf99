package config

import (
	"math/rand"
	"reflect"
	"regexp"
	"testing"
)

// TestNameMatchers checks each written-out matcher against the regular
// expression it stands for, on hand-picked names and on a few hundred
// thousand random strings over the characters that matter.
func TestNameMatchers(t *testing.T) {
	bools := []struct {
		re *regexp.Regexp
		f  func(string) bool
	}{
		{regexp.MustCompile(`^(vioif|wm|re|pcn|xenif|shmif|virt|tap)(0|[1-9][0-9]{0,2})$`), isIfName},
		{regexp.MustCompile(`^xvd[a-z][a-z]?$`), isXenDisk},
		{regexp.MustCompile(`^sd[a-z][0-9]*$`), isEC2Disk},
		{regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`), isHostLabel},
	}
	subs := []struct {
		re *regexp.Regexp
		f  func(string) []string
	}{
		{regexp.MustCompile(`^([a-z]+?)([0-9]+)$`), splitUnit},
		{regexp.MustCompile(`^/dev/r?([a-z]+)([0-9]+)([a-p])$`), splitDevPath},
	}
	names := []string{"", "vioif0", "vioif00", "vioif01", "vioif999", "vioif1000", "wm3", "xenif0", "shmif12", "tap7", "eth0",
		"VIOIF0", "xvda", "xvdab", "xvdabc", "xvd", "xvd0", "sda", "sda1", "sda12x", "sd", "sdA1",
		"/dev/ld0a", "/dev/rld0a", "/dev/r0a", "/dev/re0a", "/dev/rr0a", "/dev/ld0q", "/dev/ld0", "/dev/0a", "/dev/", "dev/ld0a",
		"web1", "-web", "web-", "w-b", "a", "A9", "web_1", "ü", string(make([]byte, 63)), "x" + string(make([]byte, 62)),
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}
	r := rand.New(rand.NewSource(4))
	const alphabet = "vioifwmrepcnxshtadlbqzAZ09-_/./dev/ü"
	for i := 0; i < 200000; i++ {
		b := make([]byte, r.Intn(10))
		for j := range b {
			b[j] = alphabet[r.Intn(len(alphabet))]
		}
		s := string(b)
		if r.Intn(3) == 0 {
			s = []string{"vioif", "xenif", "/dev/", "/dev/r", "xvd", "sd", "wm"}[r.Intn(7)] + s
		}
		names = append(names, s)
	}
	for _, s := range names {
		for _, m := range bools {
			if got, want := m.f(s), m.re.MatchString(s); got != want {
				t.Fatalf("%q: matcher for %s says %v", s, m.re, got)
			}
		}
		for _, m := range subs {
			if got, want := m.f(s), m.re.FindStringSubmatch(s); !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: matcher for %s gives %q, the expression %q", s, m.re, got, want)
			}
		}
	}
}
