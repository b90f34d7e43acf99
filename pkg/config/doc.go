// Package config reads, checks and writes json.cfg, the configuration a
// rumprun unikernel reads at boot (program arguments, environment, network
// and block devices). Every rumptools tool that handles a config uses it.
//
// Parse accepts the canonical form (strict JSON, described by the embedded
// JSON Schema SchemaJSON, also shipped as json.cfg.schema.json) and the
// rumprun dialect that today's kernels and the old rumprun script use
// (repeated "net"/"blk"/"env" keys, stray and trailing commas, string-typed
// values such as "cloner": "true" and "mask": "24", env as "NAME=value").
// Dialect input is normalised into the canonical model and each
// normalisation is reported as a warning. Parse then applies the rules of
// SchemaJSON itself (it reads the schema, not a copy of it) and the
// semantic checks no schema can express. It does not use a general JSON
// Schema validator, so that the launchers stay small and start fast;
// package config/schema runs gojsonschema over the same Document
// (ReadDocument) for rump-cfgcheck, and the tests prove that Parse rejects
// everything gojsonschema rejects. Errors and warnings are
// Diagnostics carrying file, line, column and the JSON pointer of the value;
// they print as "file:line:col: /pointer: message" (DESIGN.md 3.3). A value
// that a launcher's option set (Config.SetOrigin) is reported by the option
// instead ("-N: message"). A misspelt key gets the nearest
// valid one suggested; a key that is a prefix of a real one ("host"), which
// rumprun kernels silently accept as that key, is an error.
//
// A parsed Config is written back three ways:
//
//   - Canonical: indented canonical JSON, fixed key order, what an initrd
//     holds and what users keep;
//   - Wire: the one-line rumprun dialect that every existing rumprun kernel
//     reads; values that would need a JSON escape are refused, because those
//     kernels do not decode escapes;
//   - WithDefaults: the effective config for the NICs and disks a launcher
//     attaches (DHCP on each NIC, each disk mounted at /mnt/<device>), applied
//     only when "net" or "blk" is absent, and "cloner" on every Xen
//     interface. A nil Net or Blk means absent; a non-nil empty slice means
//     explicitly none.
//
// CheckTarget checks a config against a target (qemu, xen, ec2, iso) and
// optionally a kernel inspected by pkg/kernel: device names that exist
// there, cloner on no interface but Xen's, drivers present in the bake
// record, the number of rc entries, and the wire size limit (WireLimitHW
// and friends).
// HostMap explains what provides each configured device on a target.
//
// Load reads config text, or the /json.cfg of an initrd, from a reader with
// bounded memory. Parse itself refuses inputs over MaxSize bytes, nesting
// deeper than MaxDepth, NUL bytes and invalid UTF-8, each with a position.
//
// Typical use:
//
//	data, name, err := config.Load(path, f)
//	c, warnings, err := config.Parse(name, data) // err is an ErrorList
//	ds := c.CheckTarget(config.QEMU, k)           // k from kernel.Open, or nil
//	wire, err := c.WithDefaults(nics, disks).Wire()
package config
