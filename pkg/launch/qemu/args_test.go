package qemu

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	for in, want := range map[string][]string{
		"":                             {},
		"-smp 2":                       {"-smp", "2"},
		`-device 'e1000,netdev=n 1'`:   {"-device", "e1000,netdev=n 1"},
		`-append "a \"b\""`:            {"-append", `a "b"`},
		`-name $HOME`:                  {"-name", "$HOME"},
		"-name `id`":                   {"-name", "`id`"},
		`-x 'a;b' "c|d" e\&f '<>'`:     {"-x", "a;b", "c|d", "e&f", "<>"},
		"-object  memory-backend-ram ": {"-object", "memory-backend-ram"},
	} {
		got, err := SplitArgs(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"-smp 2; rm -rf /":  `shell operator ";" at character 7`,
		"-a | tee x":        `shell operator "|" at character 4`,
		"-a & ":             `shell operator "&" at character 4`,
		"-a >log":           `shell operator ">" at character 4`,
		"-a 2>log":          `shell operator ">" at character 5`,
		"-a <in":            `shell operator "<" at character 4`,
		"grüß;x":            `shell operator ";" at character 5`,
		`-name "unbalanced`: "unbalanced quotes",
	} {
		_, err := SplitArgs(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("SplitArgs(%q): %v, want %q", in, err, want)
		}
	}
}

func TestAccel(t *testing.T) {
	ok := func() error { return nil }
	no := func() error { return errors.New("open /dev/kvm: no such file or directory") }
	for _, c := range []struct {
		spec string
		kvm  func() error
		want []string
		err  string
	}{
		{"kvm:tcg", ok, []string{"kvm", "tcg"}, ""},
		{"kvm:tcg", no, []string{"tcg"}, ""},
		{"tcg", no, []string{"tcg"}, ""},
		{"kvm", no, nil, "KVM is not usable here (open /dev/kvm: no such file or directory): use --accel tcg"},
		{"kvm::tcg", ok, nil, "want accelerators separated by ':'"},
		{"tcg,thread=multi", ok, nil, "want accelerators separated by ':'"},
	} {
		got, err := Accel(c.spec, c.kvm)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Accel(%q): %v, want %q", c.spec, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Accel(%q) = %q, %v; want %q", c.spec, got, err, c.want)
		}
	}
}
