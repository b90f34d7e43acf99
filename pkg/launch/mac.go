package launch

import (
	"crypto/sha256"
	"fmt"
)

// MAC returns the address a guest interface gets when its backend sets
// none: 52:54:00 (the prefix QEMU and libvirt use; locally administered,
// unicast) followed by three bytes of a hash of the machine name and the
// interface. The same guest keeps its address from boot to boot, which DHCP
// servers and the guest's own logs rely on, and two interfaces or two
// differently named machines differ.
func MAC(name, iface string) string {
	h := sha256.Sum256([]byte(name + "\x00" + iface))
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", h[0], h[1], h[2])
}
