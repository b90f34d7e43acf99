package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// corpusCase is one config of the test corpus. in is the config text, or
// "@name" for testdata/corpus/name. For an invalid config, err is
// "line:col: text" of an error Parse must report (text a substring of the
// message). warns are warnings that must be reported the same way; nwarn,
// when not -1, is the exact number of warnings. wire, when set, is the exact
// wire form of a valid config.
type corpusCase struct {
	name  string
	in    string
	err   string
	warns []string
	nwarn int
	wire  string
}

var corpus = []corpusCase{
	// Canonical, valid.
	{name: "minimal", in: `{"cmdline": "hello.bin"}`, wire: `{"cmdline":"hello.bin"}`},
	{name: "full", in: `{
  "$schema": "https://github.com/rumptools/rumptools/pkg/config/json.cfg.schema.json",
  "hostname": "web1.example.org",
  "cmdline": "nginx -c /data/nginx.conf",
  "env": {"HOME": "/", "TZ": "UTC"},
  "net": [{"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.2.15/24", "gw": "10.0.2.2"}],
  "blk": [{"source": "dev", "path": "/dev/ld0a", "fstype": "blk", "mountpoint": "/data"}]
}`, wire: `{"hostname":"web1.example.org","cmdline":"nginx -c /data/nginx.conf","env":"HOME=/","env":"TZ=UTC","net":{"if":"vioif0","type":"inet","method":"static","addr":"10.0.2.15","mask":"24","gw":"10.0.2.2"},"blk":{"source":"dev","path":"/dev/ld0a","fstype":"blk","mountpoint":"/data"}}`},
	{name: "rc-two-programs", in: `{"rc": [{"bin": "syslogd", "argv": ["-n"], "runmode": "&"}, {"bin": "app", "argv": ["--port", "80"]}]}`,
		wire: `{"rc":[{"bin":"syslogd","argv":["-n"],"runmode":"&"},{"bin":"app","argv":["--port","80"]}]}`},
	{name: "rc-pipe", in: `{"rc": [{"bin": "producer", "argv": [], "runmode": "|"}, {"bin": "consumer", "argv": []}]}`},
	{name: "rc-argv-with-blanks", in: `{"rc": [{"bin": "echo", "argv": ["hello world", "tab\tless? no: a tab is fine in canonical"]}]}`},
	{name: "net-blk-off", in: `{"cmdline": "a", "net": [], "blk": []}`, wire: `{"cmdline":"a"}`},
	{name: "net-single-object", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "dhcp"}}`},
	{name: "inet6-static", in: `{"cmdline": "a", "net": [{"if": "vioif0", "type": "inet6", "method": "static", "addr": "2001:db8::10/64", "gw": "2001:db8::1"}]}`,
		wire: `{"cmdline":"a","net":{"if":"vioif0","type":"inet6","method":"static","addr":"2001:db8::10","mask":"64","gw":"2001:db8::1"}}`},
	{name: "inet6-auto", in: `{"cmdline": "a", "net": [{"if": "vioif0", "type": "inet6", "method": "auto"}]}`},
	{name: "xen-pv", in: `{"cmdline": "redis", "net": [{"if": "xenif0", "cloner": true, "type": "inet", "method": "dhcp"}], "blk": [{"source": "etfs", "path": "xvda", "fstype": "blk", "mountpoint": "/data"}]}`,
		wire: `{"cmdline":"redis","net":{"if":"xenif0","cloner":"true","type":"inet","method":"dhcp"},"blk":{"source":"etfs","path":"xvda","fstype":"blk","mountpoint":"/data"}}`},
	{name: "kernfs", in: `{"cmdline": "a", "blk": [{"source": "dev", "path": "virtual", "fstype": "kernfs", "mountpoint": "/kern"}]}`},
	{name: "vnd-image", in: `{"cmdline": "a", "blk": [{"source": "dev", "path": "/dev/cd0a", "fstype": "blk", "mountpoint": "/cd"}, {"source": "vnd", "path": "/cd/images/data.img", "fstype": "blk", "mountpoint": "/data"}]}`},
	{name: "env-order-kept", in: `{"cmdline": "a", "env": {"Z": "1", "A": "2", "M": ""}}`, wire: `{"cmdline":"a","env":"Z=1","env":"A=2","env":"M="}`},
	{name: "utf8-values", in: `{"cmdline": "caf\u00e9 na\u00efve \ud83d\ude00", "env": {"GREETING": "grüß dich"}}`,
		wire: `{"cmdline":"café naïve 😀","env":"GREETING=grüß dich"}`},
	{name: "addr-with-mask", in: `{"cmdline": "a", "net": [{"if": "wm0", "type": "inet", "method": "static", "addr": "192.168.1.5", "mask": 16}]}`,
		wire: `{"cmdline":"a","net":{"if":"wm0","type":"inet","method":"static","addr":"192.168.1.5","mask":"16"}}`},
	{name: "two-nics", in: `{"cmdline": "a", "net": [{"if": "vioif0", "type": "inet", "method": "dhcp"}, {"if": "vioif1", "type": "inet", "method": "static", "addr": "172.16.0.1/12"}]}`},
	{name: "cmdline-quotes", in: `{"cmdline": "app 'two words' \"x y\""}`},
	{name: "blk-mountpoint-root", in: `{"cmdline": "a", "net": [{"if": "xenif0", "cloner": true, "type": "inet", "method": "dhcp"}], "blk": [{"source": "etfs", "path": "sda1", "fstype": "blk", "mountpoint": "/"}]}`,
		err: "1:169: mountpoint \"/\" would cover the root file system"},
	{name: "ec2-data", in: `{"cmdline": "a", "net": [{"if": "xenif0", "cloner": true, "type": "inet", "method": "dhcp"}], "blk": [{"source": "etfs", "path": "sdb", "fstype": "blk", "mountpoint": "/data"}]}`},
	{name: "hostname-only-rc", in: `{"hostname": "h", "rc": [{"bin": "a", "argv": []}]}`},
	{name: "fstype-without-mountpoint", in: `{"cmdline": "a", "blk": [{"source": "dev", "path": "/dev/ld0a", "fstype": "blk"}]}`,
		warns: []string{`1:65: "fstype" without "mountpoint" has no effect`}, nwarn: 1},

	// The rumprun dialect, valid.
	{name: "script-qemu-dhcp", in: "@script-qemu-dhcp.cfg", nwarn: 5,
		warns: []string{"1:2: extra comma", "2:11: extra comma", "5:19: trailing comma", "7:24: trailing comma", "8:2: trailing comma"},
		wire:  `{"cmdline":"hello.bin","net":{"if":"vioif0","type":"inet","method":"dhcp"}}`},
	{name: "script-qemu-static-blk", in: "@script-qemu-static-blk.cfg", nwarn: 10,
		warns: []string{`2:9: "env": "HOME=/" is rumprun dialect`, `3:9: "env": "TERM=vt100"`, `9:11: "mask": "24" is rumprun dialect`},
		wire:  `{"hostname":"web1","cmdline":"nginx.bin -c /data/conf/nginx.conf","env":"HOME=/","env":"TERM=vt100","net":{"if":"vioif0","type":"inet","method":"static","addr":"10.0.120.101","mask":"24","gw":"10.0.120.1"},"blk":{"source":"dev","path":"/dev/ld0a","fstype":"blk","mountpoint":"/data"}}`},
	{name: "script-xen", in: "@script-xen.cfg", nwarn: 11,
		warns: []string{`4:13: "cloner": "true" is rumprun dialect; taken as true`, `14:2: repeated key "blk" is rumprun dialect`},
		wire:  `{"hostname":"cache","cmdline":"redis.bin --port 6379","net":{"if":"xenif0","cloner":"true","type":"inet","method":"dhcp"},"blk":{"source":"etfs","path":"xvda","fstype":"blk","mountpoint":"/data"},"blk":{"source":"dev","path":"virtual","fstype":"kernfs","mountpoint":"/kern"}}`},
	{name: "script-iso", in: "@script-iso.cfg", nwarn: 7},
	{name: "script-qemu-doubled", in: "@script-qemu-doubled.cfg", nwarn: 15,
		warns: []string{"1:2: extra comma", "1:3: extra comma", `2:9: "env": "A=B"`, "2:15: extra comma", "8:24: trailing comma", "8:25: extra comma", "9:2: trailing comma", "9:3: trailing comma"}},
	{name: "dialect-cloner-True", in: `{"cmdline": "a", "net": {"if": "xenif1", "cloner": "True", "type": "inet", "method": "dhcp"}}`,
		warns: []string{`1:52: "cloner": "True" is rumprun dialect; taken as true`}, nwarn: 1},
	{name: "dialect-cloner-false", in: `{"cmdline": "a", "net": {"if": "vioif0", "cloner": "false", "type": "inet", "method": "dhcp"}}`,
		warns: []string{`1:52: "cloner": "false" is rumprun dialect; taken as false (rumprun kernels read any cloner string as true)`}, nwarn: 1,
		wire: `{"cmdline":"a","net":{"if":"vioif0","type":"inet","method":"dhcp"}}`},
	{name: "dialect-dotted-mask", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "static", "addr": "10.1.2.3", "mask": "255.255.0.0"}}`,
		warns: []string{`1:106: "mask": "255.255.0.0" taken as the prefix length 16`}, nwarn: 1,
		wire: `{"cmdline":"a","net":{"if":"vioif0","type":"inet","method":"static","addr":"10.1.2.3","mask":"16"}}`},
	{name: "dialect-env-objects-repeated", in: `{"cmdline": "a", "env": {"A": "1"}, "env": {"B": "2"}}`,
		warns: []string{`1:37: repeated key "env" is rumprun dialect; merged into one object`}, nwarn: 1,
		wire: `{"cmdline":"a","env":"A=1","env":"B=2"}`},
	{name: "dialect-env-value-with-equals", in: `{"cmdline": "a", "env": "OPTS=a=b"}`,
		warns: []string{`1:25: "env": "OPTS=a=b" is rumprun dialect; taken as {"OPTS": "a=b"}`}, nwarn: 1,
		wire: `{"cmdline":"a","env":"OPTS=a=b"}`},
	{name: "dialect-trailing-commas-in-arrays", in: `{"rc": [{"bin": "a", "argv": ["x",],},],}`, nwarn: 4,
		warns: []string{"1:34: trailing comma", "1:36: trailing comma", "1:38: trailing comma", "1:40: trailing comma"}},
	{name: "byte-order-mark", in: "\ufeff{\"cmdline\": \"a\"}", warns: []string{"1:1: byte order mark ignored"}, nwarn: 1},

	// Bad input of every kind.
	{name: "empty", in: ``, err: "1:1: empty file"},
	{name: "blank", in: "  \n\t\n", err: "3:1: empty file"},
	{name: "array", in: `[{"cmdline": "a"}]`, err: "1:1: json.cfg must be a JSON object, not an array"},
	{name: "string", in: `"cmdline"`, err: "1:1: json.cfg must be a JSON object, not a string"},
	{name: "not-json", in: "cmdline=hello\n", err: "1:1: unexpected 'c': expected a value"},
	{name: "trailing-data", in: "{\"cmdline\": \"a\"}\n{}", err: "2:1: unexpected data after the top-level object"},
	{name: "truncated-object", in: "{\"cmdline\": \"a\",\n \"net\": [", err: "2:10: unexpected end of input: array opened at 2:9 is not closed"},
	{name: "truncated-string", in: `{"cmdline": "a`, err: "1:13: unexpected end of input: string is not closed"},
	{name: "missing-colon", in: `{"cmdline" "a"}`, err: `1:12: unexpected '"': expected ':' after key "cmdline"`},
	{name: "missing-comma", in: "{\"cmdline\": \"a\"\n \"hostname\": \"h\"}", err: `2:2: unexpected '"': expected ',' or '}' after object member`},
	{name: "unquoted-key", in: `{cmdline: "a"}`, err: "1:2: unexpected 'c': expected a key in double quotes"},
	{name: "unquoted-value", in: `{"cmdline": hello}`, err: "1:13: unexpected 'h': expected a value"},
	{name: "bad-literal", in: `{"cmdline": truex}`, err: `1:13: unexpected "truex": expected a value (strings need double quotes)`},
	{name: "bad-number", in: `{"net": [{"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.0.1", "mask": 024}]}`, err: `1:91: invalid number "024"`},
	{name: "nul-byte", in: "{\"cmdline\": \"a\x00b\"}", err: "1:15: NUL byte in input"},
	{name: "nul-escape", in: `{"cmdline": "a\u0000b"}`, err: `1:15: NUL character (\u0000) in string`},
	{name: "invalid-utf8", in: "{\n  \"cmdline\": \"caf\xe9\"\n}", err: "2:18: invalid UTF-8 (byte 0xe9)"},
	{name: "raw-tab-in-string", in: "{\"cmdline\": \"a\tb\"}", err: "1:15: control character U+0009 in string"},
	{name: "bad-escape", in: `{"cmdline": "a\qb"}`, err: `1:15: invalid escape "\\q" in string`},
	{name: "lone-surrogate", in: `{"cmdline": "\ud800"}`, err: "1:14: invalid UTF-16 surrogate pair"},
	{name: "deep-nesting", in: `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}", err: "1:37: nesting deeper than 32 levels"},
	{name: "duplicate-key", in: "{\"hostname\": \"a\",\n \"hostname\": \"b\", \"cmdline\": \"x\"}", err: `2:2: duplicate key "hostname" (first at 1:2)`},
	{name: "duplicate-key-in-net", in: `{"cmdline": "a", "net": [{"if": "vioif0", "if": "vioif1", "type": "inet", "method": "dhcp"}]}`, err: `1:43: duplicate key "if" (first at 1:27)`},
	{name: "duplicate-net-arrays", in: `{"cmdline": "a", "net": [], "net": []}`, err: `1:29: duplicate key "net" (first at 1:18)`},
	{name: "duplicate-env-name", in: `{"cmdline": "a", "env": "A=1", "env": "A=2"}`, err: `1:39: environment variable "A" set twice (first at 1:25)`},
	{name: "misspelt-key", in: `{"hostnmae": "h", "cmdline": "a"}`, err: `1:2: unknown key "hostnmae" in json.cfg (did you mean "hostname"?)`},
	{name: "prefix-key-host", in: `{"host": "h", "cmdline": "a"}`, err: `1:2: unknown key "host" in json.cfg: rumprun kernels would silently read it as "hostname"`},
	{name: "prefix-key-c", in: `{"c": "a"}`, err: `1:2: unknown key "c" in json.cfg: rumprun kernels would silently read it as "cmdline"`},
	{name: "unknown-key", in: `{"cmdline": "a", "memory": 64}`, err: `1:18: unknown key "memory" in json.cfg (valid keys: $schema, hostname, cmdline, rc, env, net, blk)`},
	{name: "misspelt-net-key", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "static", "adr": "10.0.0.2/8"}}`, err: `1:78: unknown key "adr" in a net entry (did you mean "addr"?)`},
	{name: "misspelt-blk-key-prefix", in: `{"cmdline": "a", "blk": {"source": "dev", "path": "/dev/ld0a", "fstyp": "blk"}}`, err: `1:64: unknown key "fstyp" in a blk entry: rumprun kernels would silently read it as "fstype"`},
	{name: "misspelt-blk-key", in: `{"cmdline": "a", "blk": {"source": "dev", "path": "/dev/ld0a", "mountpiont": "/d", "fstype": "blk"}}`, err: `1:64: unknown key "mountpiont" in a blk entry (did you mean "mountpoint"?)`},
	{name: "wrong-type-cmdline", in: `{"cmdline": ["a", "b"]}`, err: `1:13: "cmdline" must be a string, not an array`},
	{name: "wrong-type-mask", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.0.2", "mask": "24x"}}`, err: `1:106: "mask" must be an integer, not a string`},
	{name: "wrong-type-cloner", in: `{"cmdline": "a", "net": {"if": "xenif0", "cloner": "yes", "type": "inet", "method": "dhcp"}}`, err: `1:52: "cloner" must be a boolean, not a string`},
	{name: "wrong-type-env", in: `{"cmdline": "a", "env": {"N": 1}}`, err: `1:31: "N" must be a string, not an integer`},
	{name: "net-not-array", in: `{"cmdline": "a", "net": "vioif0"}`, err: `1:25: "net" must be an array of objects (or one object), not a string`},
	{name: "net-entry-not-object", in: `{"cmdline": "a", "net": ["vioif0"]}`, err: `1:26: "net" entry 0 must be an object, not a string`},
	{name: "empty-cmdline", in: `{"cmdline": ""}`, err: `1:13: "cmdline" must not be empty`},
	{name: "blank-cmdline", in: `{"cmdline": "  "}`, err: `1:13: "cmdline" holds no arguments`},
	{name: "unterminated-quote", in: `{"cmdline": "app 'x"}`, err: `1:13: "cmdline" has an unterminated ' quote`},
	{name: "cmdline-and-rc", in: `{"cmdline": "a", "rc": [{"bin": "a", "argv": []}]}`, err: `1:18: "cmdline" and "rc" cannot both be given`},
	{name: "rc-without-argv", in: `{"rc": [{"bin": "a"}]}`, err: `1:9: missing key "argv" in an rc entry`},
	{name: "rc-without-bin", in: `{"rc": [{"argv": []}]}`, err: `1:9: missing key "bin" in an rc entry`},
	{name: "rc-empty", in: `{"rc": []}`, err: `1:8: "rc" must have at least 1 entry`},
	{name: "rc-bad-runmode", in: `{"rc": [{"bin": "a", "argv": [], "runmode": "bg"}]}`, err: `1:45: "runmode" must be one of "&", "|", not "bg"`},
	{name: "rc-pipe-last", in: `{"rc": [{"bin": "a", "argv": [], "runmode": "|"}]}`, err: `1:45: runmode "|" on the last rc entry`},
	{name: "env-string-without-equals", in: `{"cmdline": "a", "env": "DEBUG"}`, err: `1:25: env string "DEBUG" is not NAME=value`},
	{name: "env-name-with-equals", in: `{"cmdline": "a", "env": {"A=B": "c"}}`, err: `1:26: invalid environment variable name "A=B"`},
	{name: "net-missing-type", in: `{"cmdline": "a", "net": {"if": "vioif0", "method": "dhcp"}}`, err: `1:25: missing key "type" in a net entry`},
	{name: "net-bad-method", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "dhpc"}}`, err: `1:68: "method" must be one of "dhcp", "static", "auto", not "dhpc" (did you mean "dhcp"?)`},
	{name: "net-bad-type", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "ipv4", "method": "dhcp"}}`, err: `1:50: "type" must be one of "inet", "inet6", not "ipv4"`},
	{name: "net-unknown-if", in: `{"cmdline": "a", "net": {"if": "eth0", "type": "inet", "method": "dhcp"}}`, err: `1:32: interface "eth0" does not exist on any target`},
	{name: "net-if-twice", in: `{"cmdline": "a", "net": [{"if": "vioif0", "type": "inet", "method": "dhcp"}, {"if": "vioif0", "type": "inet6", "method": "auto"}]}`, err: `1:85: interface "vioif0" configured twice`},
	{name: "net-static-without-addr", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "static"}}`, err: `1:25: method "static" needs "addr"`},
	{name: "net-static-without-prefix", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.0.2"}}`, err: `1:86: static address "10.0.0.2" needs a prefix length`},
	{name: "net-prefix-twice", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.0.2/8", "mask": 8}}`, err: `1:100: prefix length given twice`},
	{name: "net-prefix-too-long", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.0.2/33"}}`, err: `1:86: prefix length 33 is too long for "10.0.0.2" (at most 32)`},
	{name: "net-bad-addr", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.0.256/24"}}`, err: `1:86: invalid address "10.0.0.256"`},
	{name: "net-family-mismatch", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet6", "method": "static", "addr": "10.0.0.2/24"}}`, err: `1:87: address "10.0.0.2/24" is not an IPv6 address`},
	{name: "net-gw-outside", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.0.2/24", "gw": "10.0.1.1"}}`, err: `1:107: gateway 10.0.1.1 is outside the network 10.0.0.0/24`},
	{name: "net-gw-family", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.0.2/24", "gw": "fe80::1"}}`, err: `1:107: gateway fe80::1 is not in the same address family`},
	{name: "net-dhcp-inet6", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet6", "method": "dhcp"}}`, err: `1:69: method "dhcp" is for inet; use "auto" for inet6`},
	{name: "net-auto-inet", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "auto"}}`, err: `1:68: method "auto" is for inet6; use "dhcp" for inet`},
	{name: "net-addr-with-dhcp", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "dhcp", "addr": "10.0.0.2/24"}}`, err: `1:76: "addr" is only used with method "static"`},
	{name: "net-noncontiguous-mask", in: `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.0.2", "mask": "255.0.255.0"}}`, err: `1:106: netmask 255.0.255.0 is not contiguous`},
	{name: "blk-missing-path", in: `{"cmdline": "a", "blk": {"source": "dev"}}`, err: `1:25: missing key "path" in a blk entry`},
	{name: "blk-bad-source", in: `{"cmdline": "a", "blk": {"source": "nfs", "path": "x"}}`, err: `1:36: "source" must be one of "dev", "vnd", "etfs", not "nfs"`},
	{name: "blk-dev-not-under-dev", in: `{"cmdline": "a", "blk": {"source": "dev", "path": "ld0a"}}`, err: `1:51: "dev" path "ld0a" must be a device under /dev/`},
	{name: "blk-etfs-with-dev", in: `{"cmdline": "a", "blk": {"source": "etfs", "path": "/dev/xvda"}}`, err: `1:52: "etfs" path "/dev/xvda" must be a host block device name`},
	{name: "blk-mountpoint-relative", in: `{"cmdline": "a", "blk": {"source": "dev", "path": "/dev/ld0a", "fstype": "blk", "mountpoint": "data"}}`, err: `1:95: mountpoint "data" must be an absolute path`},
	{name: "blk-mountpoint-unclean", in: `{"cmdline": "a", "blk": {"source": "dev", "path": "/dev/ld0a", "fstype": "blk", "mountpoint": "/data/../x"}}`, err: `1:95: mountpoint "/data/../x" is not a clean path (write "/x")`},
	{name: "blk-mountpoint-twice", in: `{"cmdline": "a", "blk": [{"source": "dev", "path": "/dev/ld0a", "fstype": "blk", "mountpoint": "/d"}, {"source": "dev", "path": "/dev/ld1a", "fstype": "blk", "mountpoint": "/d"}]}`, err: `1:173: mountpoint "/d" used twice`},
	{name: "blk-mountpoint-without-fstype", in: `{"cmdline": "a", "blk": {"source": "dev", "path": "/dev/ld0a", "mountpoint": "/data"}}`, err: `1:64: mountpoint "/data" needs "fstype"`},
	{name: "blk-bad-fstype", in: `{"cmdline": "a", "blk": {"source": "dev", "path": "/dev/ld0a", "fstype": "ffs", "mountpoint": "/d"}}`, err: `1:74: "fstype" must be one of "blk", "kernfs", not "ffs"`},
	{name: "hostname-bad", in: `{"cmdline": "a", "hostname": "web_1"}`, err: `1:30: invalid hostname "web_1"`},
	{name: "hostname-empty", in: `{"cmdline": "a", "hostname": ""}`, err: `1:30: "hostname" must not be empty`},
	{name: "schema-not-string", in: `{"$schema": 7, "cmdline": "a"}`, err: `1:13: "$schema" must be a string, not an integer`},
	{name: "several-errors-first-reported", in: "{\"cmdline\": \"a\",\n \"hostnme\": \"x\",\n \"net\": {\"if\": \"vioif0\", \"type\": \"inet\", \"method\": \"dhcpp\"}}", err: `2:2: unknown key "hostnme"`},
}

func (tc corpusCase) data(t testing.TB) []byte {
	if name, ok := strings.CutPrefix(tc.in, "@"); ok {
		b, err := os.ReadFile(filepath.Join("testdata", "corpus", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return []byte(tc.in)
}

// wantAt checks that one of ds is at "line:col" and contains the text.
func wantAt(t *testing.T, ds []Diagnostic, want string) {
	t.Helper()
	var line, col int
	var text string
	if _, err := fmt.Sscanf(want, "%d:%d:", &line, &col); err != nil {
		t.Fatalf("bad expectation %q", want)
	}
	text = strings.TrimSpace(want[strings.Index(want[strings.Index(want, ":")+1:], ":")+strings.Index(want, ":")+2:])
	for _, d := range ds {
		if d.Line == line && d.Col == col && strings.Contains(d.Msg, text) {
			if d.File != "corpus.json" {
				t.Errorf("diagnostic names file %q, want corpus.json", d.File)
			}
			return
		}
	}
	var got []string
	for _, d := range ds {
		got = append(got, d.String())
	}
	t.Errorf("want %q; got:\n%s", want, strings.Join(got, "\n"))
}

func TestCorpus(t *testing.T) {
	if len(corpus) < 60 {
		t.Fatalf("corpus has %d configs, want at least 60", len(corpus))
	}
	names := map[string]bool{}
	for _, tc := range corpus {
		if names[tc.name] {
			t.Fatalf("corpus case %q twice", tc.name)
		}
		names[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			c, warns, err := Parse("corpus.json", tc.data(t))
			for _, w := range warns {
				if !w.Warning {
					t.Errorf("warning list holds an error: %v", w)
				}
			}
			for _, w := range tc.warns {
				wantAt(t, warns, w)
			}
			if tc.nwarn >= 0 && (tc.nwarn > 0 || tc.warns != nil || tc.err == "") && len(warns) != tc.nwarn {
				t.Errorf("%d warnings, want %d: %v", len(warns), tc.nwarn, warns)
			}
			if tc.err != "" {
				if err == nil {
					t.Fatalf("no error, want %q", tc.err)
				}
				if c != nil {
					t.Errorf("Parse returned a config with an error")
				}
				list, ok := err.(ErrorList)
				if !ok || len(list) == 0 {
					t.Fatalf("error is %T, want a non-empty ErrorList", err)
				}
				for _, d := range list {
					if d.Warning || d.Line == 0 || d.Col == 0 {
						t.Errorf("error without position or marked as warning: %+v", d)
					}
				}
				wantAt(t, list, tc.err)
				if first := list[0].String(); !strings.HasPrefix(err.Error(), first) {
					t.Errorf("Error() = %q does not start with %q", err.Error(), first)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error:\n%v", err)
			}
			checkRoundTrips(t, c)
			if tc.wire != "" {
				w, err := c.Wire()
				if err != nil {
					t.Fatalf("Wire: %v", err)
				}
				if string(w) != tc.wire {
					t.Errorf("wire form\n got %s\nwant %s", w, tc.wire)
				}
			}
		})
	}
}

// checkRoundTrips asserts what must hold for every valid config: the
// canonical form parses back, without warnings, to the same model and the
// same bytes; the wire form parses back (as dialect) to the same model.
func checkRoundTrips(t *testing.T, c *Config) {
	t.Helper()
	canon, err := c.Canonical()
	if err != nil {
		t.Fatalf("Canonical: %v", err)
	}
	if !bytes.HasSuffix(canon, []byte("}\n")) {
		t.Errorf("canonical form does not end in a newline: %q", canon)
	}
	c2, warns, err := Parse("canonical.json", canon)
	for _, w := range warns {
		if strings.Contains(w.Msg, "dialect") || strings.Contains(w.Msg, "taken as") {
			t.Errorf("canonical form needed normalising: %v", w)
		}
	}
	if err != nil {
		t.Fatalf("canonical form does not parse cleanly: %v %v\n%s", err, warns, canon)
	}
	if !sameModel(c, c2) {
		t.Errorf("canonical round trip changed the model:\n%+v\n%+v", c, c2)
	}
	canon2, _ := c2.Canonical()
	if !bytes.Equal(canon, canon2) {
		t.Errorf("canonical form is not stable:\n%s\n%s", canon, canon2)
	}
	w, err := c.Wire()
	if err != nil {
		return // values needing escapes: covered by TestWireRefusesEscapes
	}
	if bytes.ContainsAny(w, "\n\t") {
		t.Errorf("wire form is not one line: %q", w)
	}
	c3, _, err := Parse("wire.json", w)
	if err != nil {
		t.Fatalf("wire form does not parse: %v\n%s", err, w)
	}
	// The wire form drops $schema, and an explicit "net": [] or "blk": []
	// (today's kernels configure nothing that is absent).
	c3.Schema = c.Schema
	if len(c.Net) == 0 && c3.Net == nil {
		c3.Net = c.Net
	}
	if len(c.Blk) == 0 && c3.Blk == nil {
		c3.Blk = c.Blk
	}
	if !sameModel(c, c3) {
		t.Errorf("wire round trip changed the model:\n%+v\n%+v", c, c3)
	}
}

func sameModel(a, b *Config) bool {
	strip := func(c *Config) Config {
		x := *c
		x.file, x.pos, x.kpos = "", nil, nil
		return x
	}
	return reflect.DeepEqual(strip(a), strip(b))
}
