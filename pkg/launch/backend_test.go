package launch

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseBackend(t *testing.T) {
	for _, c := range []struct {
		spec string
		want Backend
	}{
		{"", Backend{Kind: BackendUser}},
		{"user", Backend{Kind: BackendUser}},
		{"user,hostfwd=tcp::8080-:80", Backend{Kind: BackendUser, Options: []string{"hostfwd=tcp::8080-:80"}}},
		{"user,hostfwd=tcp::8080-:80,hostfwd=udp::53-:53", Backend{Kind: BackendUser, Options: []string{"hostfwd=tcp::8080-:80", "hostfwd=udp::53-:53"}}},
		{"tap:tap0", Backend{Kind: BackendTap, Name: "tap0"}},
		{"tap:tap0,vhost=on", Backend{Kind: BackendTap, Name: "tap0", Options: []string{"vhost=on"}}},
		{"bridge:br0", Backend{Kind: BackendBridge, Name: "br0"}},
		{"bridge:br0,mac=52:54:00:AB:CD:EF", Backend{Kind: BackendBridge, Name: "br0", MAC: "52:54:00:ab:cd:ef"}},
		{"socket,listen=:1234", Backend{Kind: BackendRaw, Options: []string{"socket", "listen=:1234"}}},
		{"user,smb=/srv/a,,b", Backend{Kind: BackendUser, Options: []string{"smb=/srv/a,,b"}}},
		{"tap,ifname=tap1,script=/etc/qemu-ifup", Backend{Kind: BackendRaw, Options: []string{"tap", "ifname=tap1", "script=/etc/qemu-ifup"}}},
	} {
		got, err := ParseBackend(c.spec)
		if err != nil {
			t.Errorf("ParseBackend(%q): %v", c.spec, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseBackend(%q) = %+v, want %+v", c.spec, got, c.want)
		}
		if c.spec != "" {
			again, err := ParseBackend(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("ParseBackend(%q).String() = %q does not read back: %+v, %v", c.spec, got.String(), again, err)
			}
		}
	}
}

func TestParseBackendErrors(t *testing.T) {
	for spec, want := range map[string]string{
		"tap:":                       "needs a name, e.g. tap:tap0",
		"bridge:":                    "needs a name, e.g. bridge:br0",
		"tap:a b":                    "not a host interface name",
		"user,,":                     "", // ",," is an escaped comma: valid
		"user,":                      "empty item",
		"user,mac=zz":                "not a MAC address",
		"user,mac=01:00:5e:00:00:01": "multicast",
		"user,id=x":                  "id= is set by the launcher",
	} {
		_, err := ParseBackend(spec)
		if want == "" {
			if err != nil {
				t.Errorf("ParseBackend(%q): %v", spec, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseBackend(%q) error %v, want %q", spec, err, want)
		}
	}
}

func TestMAC(t *testing.T) {
	a := MAC("web", "vioif0")
	if a != MAC("web", "vioif0") {
		t.Fatal("MAC is not deterministic")
	}
	if !strings.HasPrefix(a, "52:54:00:") || len(a) != 17 {
		t.Errorf("MAC = %s", a)
	}
	seen := map[string]bool{a: true}
	for _, o := range [][2]string{{"web", "vioif1"}, {"web", "wm0"}, {"db", "vioif0"}, {"webv", "ioif0"}} {
		m := MAC(o[0], o[1])
		if seen[m] {
			t.Errorf("MAC(%q, %q) = %s collides", o[0], o[1], m)
		}
		seen[m] = true
	}
}
