// Package ec2launch turns a volume image into an Amazon EC2 machine image
// and, if asked, an instance: it uploads the image as an EBS snapshot
// (pkg/ebsupload), waits for the snapshot, registers the image, runs an
// instance, follows its console until rumprun's exit marker and reports the
// program's exit status.
//
// A Job holds every parameter; its methods give the exact API inputs
// (RegisterInput, RunInput), print all calls as aws(1) commands for -n
// (Script), and perform them (Run). The AWS clients come from the SDK's
// standard configuration chain (NewClients): credentials, --profile,
// --region, AWS_ENDPOINT_URL and the per-service AWS_ENDPOINT_URL_EBS and
// AWS_ENDPOINT_URL_EC2.
package ec2launch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/rumptools/rumptools/pkg/ebsupload"
	"github.com/rumptools/rumptools/pkg/kernel"
)

// Root devices of the two kinds of image: the hd0 PV-GRUB reads the
// unpartitioned volume attached as sda1; an HVM image boots from xvda.
const (
	RootDevicePV  = "/dev/sda1"
	RootDeviceHVM = "/dev/xvda"
)

// DefaultVolumeType is the EBS volume type of the root volume.
const DefaultVolumeType = "gp2"

// Job is one trip from a volume image to an image and an instance.
type Job struct {
	Region string
	Virt   Virtualization
	Arch   string // "i386" or "x86_64"

	Name        string // machine name: the image name's prefix and the Name tag
	Description string
	KernelID    string // the PV-GRUB AKI (Paravirtual only)

	VolumeSize int64  // GiB
	VolumeType string // "" means DefaultVolumeType

	// Tags go on the snapshot, the image and the instance.
	Tags map[string]string

	Run *RunOptions // nil: register the image and stop
}

// RunOptions are what RunInstances needs beyond the image.
type RunOptions struct {
	InstanceType     string
	SubnetID         string
	SecurityGroupIDs []string
	KeyName          string
	// Terminate makes the instance terminate, not stop, when the guest
	// powers off, and terminates it once its program has exited.
	Terminate bool
}

// Tag keys this package writes.
const (
	TagKernel       = "rumptools:kernel"
	TagKernelSHA256 = "rumptools:kernel-sha256"
	TagBake         = "rumptools:bake"
)

// maxTagValue is EC2's limit on a tag value, in characters.
const maxTagValue = 256

// KernelTags returns the tags that name a kernel: its file name, the
// SHA-256 of its bytes and, for a kernel stamped by rump-bake, a summary of
// its bake record (config, platform, architecture, programs, tool).
func KernelTags(name, sha256hex string, rec *kernel.BakeRecord) map[string]string {
	tags := map[string]string{TagKernel: clip(name), TagKernelSHA256: sha256hex}
	if rec != nil {
		s := fmt.Sprintf("config=%s platform=%s arch=%s programs=%s tool=%s",
			rec.Config, rec.Platform, rec.Arch, strings.Join(rec.Programs, ","), rec.Tool)
		tags[TagBake] = clip(s)
	}
	return tags
}

// clip shortens s to a valid tag value.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= maxTagValue {
		return s
	}
	r := []rune(s)
	return string(r[:maxTagValue-3]) + "..."
}

// Check refuses a job that cannot work before anything is spent on it.
func (j *Job) Check() error {
	switch {
	case j.Region == "":
		return errors.New("no region: give --region, or set AWS_REGION or a region in the AWS profile")
	case j.Virt != Paravirtual && j.Virt != HVM:
		return fmt.Errorf("unknown virtualization type %q", j.Virt)
	case j.Arch != "i386" && j.Arch != "x86_64":
		return fmt.Errorf("architecture %s: EC2 runs rumprun's x86 kernels (i386, x86_64) here", j.Arch)
	case j.Virt == Paravirtual && j.KernelID == "":
		return errors.New("a paravirtual image needs a PV-GRUB kernel image (--kernel-id)")
	case j.Virt == HVM && j.KernelID != "":
		return errors.New("--kernel-id is for paravirtual images (Xen PV kernels); an HVM image boots from its own disk")
	case j.VolumeSize < 1 || j.VolumeSize > ebsupload.MaxVolumeSize:
		return fmt.Errorf("volume size %d GiB: EBS volumes have 1 to %d GiB", j.VolumeSize, ebsupload.MaxVolumeSize)
	}
	if j.Run != nil {
		if err := CheckInstanceType(j.Run.InstanceType, j.Virt); err != nil {
			return err
		}
	}
	return nil
}

// ImageName returns the name the image is registered under: the machine
// name and the snapshot ID, which no other upload has, so the name is
// unique in the account as EC2 requires. Characters EC2 does not allow in
// image names become '-'.
func (j *Job) ImageName(snapshotID string) string {
	var b strings.Builder
	for _, r := range j.Name {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("()[] ./-'@_", r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	prefix := b.String()
	if prefix == "" {
		prefix = "rumprun"
	}
	if max := 128 - 1 - len(snapshotID); len(prefix) > max {
		prefix = prefix[:max]
	}
	return prefix + "-" + snapshotID
}

func (j *Job) rootDevice() string {
	if j.Virt == Paravirtual {
		return RootDevicePV
	}
	return RootDeviceHVM
}

func (j *Job) volumeType() string {
	if j.VolumeType == "" {
		return DefaultVolumeType
	}
	return j.VolumeType
}

// tagList returns the job's tags (and a Name tag) sorted by key.
func (j *Job) tagList() []types.Tag {
	m := map[string]string{}
	for k, v := range j.Tags {
		m[k] = v
	}
	if _, ok := m["Name"]; !ok && j.Name != "" {
		m["Name"] = clip(j.Name)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tags := make([]types.Tag, 0, len(keys))
	for _, k := range keys {
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return tags
}

// SnapshotTags returns the tags for StartSnapshot.
func (j *Job) SnapshotTags() map[string]string {
	m := map[string]string{}
	for _, t := range j.tagList() {
		m[*t.Key] = *t.Value
	}
	return m
}

// RegisterInput returns the RegisterImage parameters for the snapshot.
func (j *Job) RegisterInput(snapshotID string) *ec2.RegisterImageInput {
	in := &ec2.RegisterImageInput{
		Name:               aws.String(j.ImageName(snapshotID)),
		Architecture:       types.ArchitectureValues(j.Arch),
		VirtualizationType: aws.String(string(j.Virt)),
		RootDeviceName:     aws.String(j.rootDevice()),
		BlockDeviceMappings: []types.BlockDeviceMapping{{
			DeviceName: aws.String(j.rootDevice()),
			Ebs: &types.EbsBlockDevice{
				SnapshotId:          aws.String(snapshotID),
				VolumeSize:          aws.Int32(int32(j.VolumeSize)),
				VolumeType:          types.VolumeType(j.volumeType()),
				DeleteOnTermination: aws.Bool(true),
			},
		}},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeImage, Tags: j.tagList()}},
	}
	if j.Description != "" {
		in.Description = aws.String(j.Description)
	}
	if j.Virt == Paravirtual {
		in.KernelId = aws.String(j.KernelID)
	} else {
		// The kernels boot through the BIOS and have no ENA driver.
		in.BootMode = types.BootModeValuesLegacyBios
		in.EnaSupport = aws.Bool(false)
	}
	return in
}

// RunInput returns the RunInstances parameters for the image.
func (j *Job) RunInput(imageID string) *ec2.RunInstancesInput {
	r := j.Run
	in := &ec2.RunInstancesInput{
		ImageId:           aws.String(imageID),
		InstanceType:      types.InstanceType(r.InstanceType),
		MinCount:          aws.Int32(1),
		MaxCount:          aws.Int32(1),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: j.tagList()}},
	}
	if r.SubnetID != "" {
		in.SubnetId = aws.String(r.SubnetID)
	}
	if len(r.SecurityGroupIDs) > 0 {
		in.SecurityGroupIds = append([]string(nil), r.SecurityGroupIDs...)
	}
	if r.KeyName != "" {
		in.KeyName = aws.String(r.KeyName)
	}
	if r.Terminate {
		in.InstanceInitiatedShutdownBehavior = types.ShutdownBehaviorTerminate
	}
	return in
}

// Clients holds the service clients a job uses.
type Clients struct {
	EBS    ebsupload.Client
	EC2    EC2
	Region string // the region the configuration chain settled on
}

// EC2 is the part of *ec2.Client a job uses.
type EC2 interface {
	DescribeSnapshots(context.Context, *ec2.DescribeSnapshotsInput, ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error)
	RegisterImage(context.Context, *ec2.RegisterImageInput, ...func(*ec2.Options)) (*ec2.RegisterImageOutput, error)
	DescribeImages(context.Context, *ec2.DescribeImagesInput, ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
	RunInstances(context.Context, *ec2.RunInstancesInput, ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error)
	DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	GetConsoleOutput(context.Context, *ec2.GetConsoleOutputInput, ...func(*ec2.Options)) (*ec2.GetConsoleOutputOutput, error)
	TerminateInstances(context.Context, *ec2.TerminateInstancesInput, ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error)
}

// NewClients loads the SDK's standard configuration (environment, shared
// files, the named profile when not "") with the region when not "", and
// makes the EBS and EC2 clients. It contacts no service: credentials are
// resolved at the first call.
func NewClients(ctx context.Context, region, profile string) (*Clients, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	if profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(profile))
	}
	// EC2 throttles with RequestLimitExceeded; polling must outlast a burst.
	opts = append(opts, awsconfig.WithRetryMaxAttempts(8))
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	return &Clients{EBS: ebs.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg), Region: cfg.Region}, nil
}
