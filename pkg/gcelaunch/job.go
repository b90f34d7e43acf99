// Package gcelaunch turns a rumprun hw kernel into a Compute Engine image
// and instance: the boot disk (Medium: the hybrid ISO of pkg/bootloader as
// disk.raw, packed by pkg/gceimage), its upload to a Cloud Storage bucket
// (pkg/gcsupload), the image made from it, an instance of the image on the
// default network with a virtio-net NIC, its serial console followed to
// rumprun's exit marker, and the clean-up.
//
// A Job holds every parameter and gives the exact API requests
// (ImageRequest, InstanceRequest); Script prints all calls as gcloud
// commands for -n, and a Runner performs them with the Compute Engine and
// Cloud Storage clients of google.golang.org/api, authenticated with
// Application Default Credentials.
package gcelaunch

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	compute "google.golang.org/api/compute/v1"

	"github.com/rumptools/rumptools/pkg/kernel"
)

// Boot disk defaults: the cheapest persistent disk type, and its smallest
// size.
const (
	BootDiskType   = "pd-standard"
	MinBootDiskGiB = 10
)

// Job is one trip from a boot disk archive to an image and an instance.
type Job struct {
	Project, Zone, Bucket string

	// Name is the machine name; the image, the archive object and the
	// instance are named after it and the archive (Names).
	Name        string
	Description string
	Labels      map[string]string

	Archive Archive
	DiskGiB int64 // disk.raw's size

	MachineType string // "" means DefaultMachineType
	NoAddress   bool   // no external IPv4 address

	Follow      bool // follow the console to the program's exit
	Remove      bool // delete the instance and the archive object at the end
	RemoveImage bool // and the image
}

var (
	projectRE = regexp.MustCompile(`^(?:[-a-z0-9.]{1,63}:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$`)
	zoneRE    = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]+-[a-z]$`)
	bucketRE  = regexp.MustCompile(`^[a-z0-9][-_.a-z0-9]{1,220}[a-z0-9]$`)
)

// Check refuses a job that cannot work before anything is spent on it.
func (j *Job) Check() error {
	switch {
	case j.Project == "":
		return errors.New("no project: give --project")
	case !projectRE.MatchString(j.Project):
		return fmt.Errorf("project %q: want a project ID (6 to 30 lower-case letters, digits and hyphens)", j.Project)
	case j.Zone == "":
		return errors.New("no zone: give --zone, e.g. us-central1-a")
	case !zoneRE.MatchString(j.Zone):
		return fmt.Errorf("zone %q: want a Compute Engine zone such as us-central1-a", j.Zone)
	case j.Bucket == "":
		return errors.New("no bucket: give --bucket, a Cloud Storage bucket for the archive")
	case !bucketRE.MatchString(j.Bucket) || strings.Contains(j.Bucket, ".."):
		return fmt.Errorf("bucket %q: want a Cloud Storage bucket name (no gs:// and no slash)", j.Bucket)
	case j.DiskGiB < 1:
		return fmt.Errorf("disk of %d GiB", j.DiskGiB)
	case j.RemoveImage && !j.Remove:
		return errors.New("--rm-image removes the image along with what --rm removes: give --rm too")
	case j.Remove && !j.Follow:
		return errors.New("--rm removes the instance once its program has exited, which only following its console (-i) tells")
	}
	return CheckMachineType(j.machineType())
}

func (j *Job) machineType() string {
	if j.MachineType == "" {
		return DefaultMachineType
	}
	return j.MachineType
}

// Names are the names of what a job makes.
type Names struct {
	Image, Instance string // NAME-ID: unique to the archive, as an image name in the project must be
	Object          string // NAME-ID.tar.gz in the bucket
}

// maxBase leaves room for "-" and the archive ID in a 63-character name.
const maxBase = 63 - 1 - 12

// Names derives the names from the machine name and the archive: lower
// case, letters, digits and hyphens, starting with a letter, as Compute
// Engine requires.
func (j *Job) Names() Names {
	var b strings.Builder
	for _, r := range strings.ToLower(j.Name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	base := strings.Trim(b.String(), "-")
	if base == "" {
		base = "rumprun"
	} else if base[0] < 'a' || base[0] > 'z' {
		base = "rumprun-" + base
	}
	if len(base) > maxBase {
		base = strings.TrimRight(base[:maxBase], "-")
	}
	name := base + "-" + j.Archive.ID()
	return Names{Image: name, Instance: name, Object: name + ".tar.gz"}
}

// Label keys this package writes.
const (
	LabelKernel = "rumptools-kernel"
	LabelBake   = "rumptools-bake"
	LabelID     = "rumptools-archive"
)

// KernelLabels returns the labels that name a kernel: its file name and,
// for a kernel stamped by rump-bake, its bake config, as label values
// allow them (lower-case letters, digits, '-' and '_', 63 at most).
func KernelLabels(file string, rec *kernel.BakeRecord) map[string]string {
	l := map[string]string{LabelKernel: labelValue(file)}
	if rec != nil && rec.Config != "" {
		l[LabelBake] = labelValue(rec.Config)
	}
	return l
}

func labelValue(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 63 {
			break
		}
	}
	return b.String()
}

// Description returns the text that describes a kernel's image and
// instance: the file, its bake record and its SHA-256.
func Description(file, sha256hex string, k *kernel.Kernel) string {
	d := fmt.Sprintf("rumprun %s kernel %s (%s), SHA-256 %s, by rump-launch-gce", k.Platform, file, k.Arch(), sha256hex)
	if r := k.Bake; r != nil {
		d = fmt.Sprintf("rumprun kernel %s (%s, %s; programs %s; %s), SHA-256 %s, by rump-launch-gce",
			file, r.Config, k.Arch(), strings.Join(r.Programs, ","), r.Tool, sha256hex)
	}
	if len(d) > 2048 { // Compute Engine's limit
		d = strings.ToValidUTF8(d[:2045], "") + "..."
	}
	for !utf8.ValidString(d) {
		d = d[:len(d)-1]
	}
	return d
}

// labels returns the job's labels and the archive's.
func (j *Job) labels() map[string]string {
	m := map[string]string{LabelID: j.Archive.ID()}
	for k, v := range j.Labels {
		m[k] = v
	}
	return m
}

// ObjectURL is where Compute Engine reads the archive.
func (j *Job) ObjectURL() string {
	return "https://storage.googleapis.com/" + j.Bucket + "/" + j.Names().Object
}

// ImageRequest returns the images.insert body.
func (j *Job) ImageRequest() *compute.Image {
	return &compute.Image{
		Name:         j.Names().Image,
		Description:  j.Description,
		Labels:       j.labels(),
		Architecture: "X86_64",
		RawDisk:      &compute.ImageRawDisk{Source: j.ObjectURL(), ContainerType: "TAR"},
	}
}

// ImageLink and the other links are the resource names requests use.
func (j *Job) ImageLink() string {
	return "projects/" + j.Project + "/global/images/" + j.Names().Image
}

// BootDiskGiB is the size of the instance's boot disk.
func (j *Job) BootDiskGiB() int64 { return max(j.DiskGiB, MinBootDiskGiB) }

// InstanceRequest returns the instances.insert body: the machine type, a
// boot disk made from the image and deleted with the instance, one
// virtio-net NIC on the default network (with an ephemeral external
// address unless NoAddress), no service account, no display device (so
// the kernel's console is the serial port), the labels.
func (j *Job) InstanceRequest() *compute.Instance {
	nic := &compute.NetworkInterface{Network: "global/networks/default", NicType: "VIRTIO_NET"}
	if !j.NoAddress {
		nic.AccessConfigs = []*compute.AccessConfig{{Type: "ONE_TO_ONE_NAT", Name: "External NAT"}}
	}
	return &compute.Instance{
		Name:        j.Names().Instance,
		Description: j.Description,
		Labels:      j.labels(),
		MachineType: "zones/" + j.Zone + "/machineTypes/" + j.machineType(),
		Disks: []*compute.AttachedDisk{{
			Boot: true, AutoDelete: true, Type: "PERSISTENT", Mode: "READ_WRITE",
			InitializeParams: &compute.AttachedDiskInitializeParams{
				SourceImage: j.ImageLink(),
				DiskType:    "zones/" + j.Zone + "/diskTypes/" + BootDiskType,
				DiskSizeGb:  j.BootDiskGiB(),
			},
		}},
		NetworkInterfaces: []*compute.NetworkInterface{nic},
		DisplayDevice:     &compute.DisplayDevice{EnableDisplay: false, ForceSendFields: []string{"EnableDisplay"}},
	}
}

// sortedLabels returns labels as KEY=VALUE, sorted.
func sortedLabels(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
