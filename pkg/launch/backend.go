package launch

import (
	"fmt"
	"net"
	"strings"
)

// Backend kinds. User, Tap and Bridge come from the shorthands every launcher
// understands; Raw is a target-specific option string passed through.
const (
	BackendUser   = "user"   // "user[,OPTS]": the hypervisor's own NAT, no host setup
	BackendTap    = "tap"    // "tap:IFNAME[,OPTS]": an existing host tap interface
	BackendBridge = "bridge" // "bridge:BR[,OPTS]": a port on a host bridge
	BackendRaw    = "raw"    // anything else: the target's own syntax
)

// Backend is the host side of a guest network interface, as written after
// the '=' of -I GUESTIF=BACKEND.
type Backend struct {
	Kind string // BackendUser, BackendTap, BackendBridge or BackendRaw
	Name string // the tap interface or the bridge (BackendTap, BackendBridge)

	// Options are the further comma-separated items as written, in the
	// target's syntax (a literal comma inside one is written ",,"). For
	// BackendRaw they are the whole spec, e.g. ["socket", "listen=:1234"].
	Options []string

	// MAC is the guest address a "mac=" item asked for (lower case), taken
	// out of Options; "" means the launcher derives one (see MAC).
	MAC string
}

// String returns the spec in the form ParseBackend reads.
func (b Backend) String() string {
	var items []string
	switch b.Kind {
	case BackendUser:
		items = append(items, "user")
	case BackendTap, BackendBridge:
		items = append(items, b.Kind+":"+b.Name)
	}
	items = append(items, b.Options...)
	if b.MAC != "" {
		items = append(items, "mac="+b.MAC)
	}
	return strings.Join(items, ",")
}

// splitItems splits s at single commas; ",," stays inside an item.
func splitItems(s string) []string {
	var items []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] != ',' {
			continue
		}
		if i+1 < len(s) && s[i+1] == ',' {
			i++
			continue
		}
		items = append(items, s[start:i])
		start = i + 1
	}
	return append(items, s[start:])
}

// ParseBackend parses a backend spec. The empty spec means user networking.
func ParseBackend(spec string) (Backend, error) {
	if spec == "" {
		return Backend{Kind: BackendUser}, nil
	}
	items := splitItems(spec)
	var b Backend
	head := items[0]
	switch {
	case head == "user":
		b.Kind, items = BackendUser, items[1:]
	case strings.HasPrefix(head, "tap:"), strings.HasPrefix(head, "bridge:"):
		kind, name, _ := strings.Cut(head, ":")
		if name == "" {
			return b, fmt.Errorf("backend %q: %s: needs a name, e.g. %s:%s0", spec, kind, kind, map[string]string{"tap": "tap", "bridge": "br"}[kind])
		}
		if strings.ContainsAny(name, "/ \t=") || strings.Contains(name, ",,") {
			return b, fmt.Errorf("backend %q: %q is not a host interface name", spec, name)
		}
		b.Kind, b.Name, items = kind, name, items[1:]
	default:
		b.Kind = BackendRaw
	}
	for _, it := range items {
		if it == "" {
			return b, fmt.Errorf("backend %q: empty item between commas", spec)
		}
		key, val, _ := strings.Cut(it, "=")
		switch key {
		case "mac":
			hw, err := net.ParseMAC(val)
			if err != nil || len(hw) != 6 {
				return b, fmt.Errorf("backend %q: mac=%s is not a MAC address like 52:54:00:12:34:56", spec, val)
			}
			if hw[0]&1 != 0 {
				return b, fmt.Errorf("backend %q: mac=%s is a multicast address", spec, val)
			}
			b.MAC = hw.String()
			continue
		case "id":
			return b, fmt.Errorf("backend %q: id= is set by the launcher (from the guest interface name)", spec)
		}
		b.Options = append(b.Options, it)
	}
	return b, nil
}
