package gcelaunch

import (
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rumptools/rumptools/pkg/gcsupload"
	"github.com/rumptools/rumptools/pkg/shellquote"
)

// ScriptOptions say what Script prints besides the job's calls.
type ScriptOptions struct {
	Layout  []string // lines describing the disk, printed as comments
	Archive string   // the archive file a user would upload ("" for a placeholder)
}

// cmd quotes a command for the shell; a long one is continued on more
// lines, one option a line.
func cmd(words ...string) string {
	var b strings.Builder
	width := 0
	for _, w := range words {
		width += len(w) + 1
	}
	for i, w := range words {
		if i > 0 {
			if width > 100 && strings.HasPrefix(w, "--") {
				b.WriteString(" \\\n   ")
			}
			b.WriteByte(' ')
		}
		b.WriteString(shellquote.Quote(w))
	}
	return b.String()
}

// Script writes the job as the gcloud commands that make the same calls
// with the same parameters, in order, and describes in comments what has
// no command of its own (the resumable upload's chunks, the console
// loop). Nothing is contacted.
func (j *Job) Script(w io.Writer, o ScriptOptions) error {
	if err := j.Check(); err != nil {
		return err
	}
	n := j.Names()
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# rump-launch-gce -n: the calls it would make, as gcloud commands.")
	p("# Nothing was uploaded or started.")
	p("#")
	for _, l := range o.Layout {
		p("# %s", l)
	}
	a := j.Archive
	p("# archive: %d bytes, gzip-compressed tar (oldgnu) holding %s as a sparse file", a.Size, "disk.raw")
	p("#   (%d bytes of data, the rest holes), SHA-256 %s", a.Data, hex.EncodeToString(a.SHA256[:]))
	archive := o.Archive
	if archive == "" {
		archive = "ARCHIVE"
		p("#   write it with the same arguments and -o ARCHIVE instead of -n")
	}
	proj := []string{"--project", j.Project}
	zone := append(append([]string{}, proj...), "--zone", j.Zone)

	p("")
	p("# 0. An image of the same name is made from the same archive: if it exists,")
	p("#    steps 1 and 2 are skipped.")
	p("%s", cmd(append([]string{"gcloud", "compute", "images", "describe", n.Image}, append(proj, "--format", "value(status)")...)...))

	p("")
	p("# 1. Upload the archive (a resumable upload in chunks of %d MiB, its size, MD5", gcsupload.DefaultChunkSize>>20)
	p("#    and CRC32C announced; a failed chunk is retried from what the session holds).")
	p("%s", cmd(append([]string{"gcloud", "storage", "cp", archive, "gs://" + j.Bucket + "/" + n.Object}, proj...)...))

	p("")
	p("# 2. Make the image from it, and wait until it is READY.")
	img := j.ImageRequest()
	create := append([]string{"gcloud", "compute", "images", "create", n.Image}, proj...)
	create = append(create, "--source-uri", "gs://"+j.Bucket+"/"+n.Object, "--architecture", img.Architecture,
		"--description", img.Description, "--labels", strings.Join(sortedLabels(img.Labels), ","))
	p("%s", cmd(create...))
	if j.Remove {
		p("# --rm: the archive is not needed any more.")
		p("%s", cmd(append([]string{"gcloud", "storage", "rm", "gs://" + j.Bucket + "/" + n.Object}, proj...)...))
	}

	p("")
	p("# 3. Start an instance of it, and wait until it runs.")
	in := j.InstanceRequest()
	nic := "network=default,nic-type=VIRTIO_NET"
	if j.NoAddress {
		nic += ",no-address"
	}
	run := append([]string{"gcloud", "compute", "instances", "create", n.Instance}, zone...)
	run = append(run, "--machine-type", j.machineType(), "--image", n.Image, "--image-project", j.Project,
		"--boot-disk-type", BootDiskType, "--boot-disk-size", strconv.FormatInt(j.BootDiskGiB(), 10)+"GB",
		"--network-interface", nic, "--no-service-account", "--no-scopes",
		"--description", in.Description, "--labels", strings.Join(sortedLabels(in.Labels), ","))
	p("%s", cmd(run...))
	if !j.Follow {
		_, err := io.WriteString(w, b.String())
		return err
	}

	p("")
	p("# 4. Follow serial port 1 (every few seconds, from the offset the last look")
	p("#    reported as next) until rumprun prints its exit marker (=== _exit(N) called ===):")
	follow := cmd(append([]string{"gcloud", "compute", "instances", "get-serial-port-output", n.Instance}, append(zone, "--port", "1", "--start", "OFFSET")...)...)
	p("#   %s", strings.ReplaceAll(follow, "\n", "\n#  "))
	if j.Remove {
		p("")
		p("# 5. --rm: delete the instance (and its boot disk).")
		p("%s", cmd(append([]string{"gcloud", "compute", "instances", "delete", n.Instance}, append(zone, "--quiet")...)...))
		if j.RemoveImage {
			p("%s", cmd(append([]string{"gcloud", "compute", "images", "delete", n.Image}, append(proj, "--quiet")...)...))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
