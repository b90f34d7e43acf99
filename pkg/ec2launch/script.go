package ec2launch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/rumptools/rumptools/pkg/ebsupload"
	"github.com/rumptools/rumptools/pkg/shellquote"
)

// ScriptOptions say what Script prints besides the job's calls.
type ScriptOptions struct {
	Profile string   // --profile, repeated on every command when not ""
	Layout  []string // lines describing the image, printed as comments
	Image   string   // the image file a user would upload ("" for a placeholder)
	Workers int      // PutSnapshotBlock requests in flight
	Follow  bool     // -i: the console calls
}

// word is one word of a printed command: literal text is quoted for the
// shell, a variable is written as "$NAME".
type word struct {
	s   string
	env bool
}

func lit(ss ...string) []word {
	w := make([]word, len(ss))
	for i, s := range ss {
		w[i] = word{s: s}
	}
	return w
}

func env(name string) word { return word{s: name, env: true} }

func line(ws ...[]word) string {
	var parts []string
	for _, group := range ws {
		for _, w := range group {
			if w.env {
				parts = append(parts, `"$`+w.s+`"`)
			} else {
				parts = append(parts, shellquote.Quote(w.s))
			}
		}
	}
	return strings.Join(parts, " ")
}

func jsonArg(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return strings.TrimSpace(b.String())
}

type jsonTag struct {
	Key   string
	Value string
}

func tagsJSON(tags []types.Tag) []jsonTag {
	out := make([]jsonTag, len(tags))
	for i, t := range tags {
		out[i] = jsonTag{aws.ToString(t.Key), aws.ToString(t.Value)}
	}
	return out
}

// Script writes the job as the aws(1) commands that perform the same API
// calls with the same parameters, in order, with shell variables carrying
// the IDs from one call to the next. The block uploads depend on the
// image's bytes; they are described in comments. Nothing is contacted.
func (j *Job) Script(w io.Writer, o ScriptOptions) error {
	if err := j.Check(); err != nil {
		return err
	}
	common := lit("--region", j.Region)
	if o.Profile != "" {
		common = append(common, lit("--profile", o.Profile)...)
	}
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# rump-launch-ec2 -n: the AWS API calls it would make, as aws(1) commands.")
	p("# Nothing was built, uploaded or started.")
	p("#")
	for _, l := range o.Layout {
		p("# %s", l)
	}
	image := o.Image
	if image == "" {
		image = "IMAGE"
	}
	p("")
	p("# 1. Upload the image as a snapshot with the EBS direct APIs.")
	start := lit("aws", "ebs", "start-snapshot")
	start = append(start, common...)
	start = append(start, lit("--volume-size", strconv.FormatInt(j.VolumeSize, 10))...)
	if j.Description != "" {
		start = append(start, lit("--description", j.Description)...)
	}
	start = append(start, lit("--tags", jsonArg(tagsJSON(j.tagList())))...)
	start = append(start, lit("--query", "SnapshotId", "--output", "text")...)
	p("SNAPSHOT_ID=$(%s)", line(start))
	workers := o.Workers
	if workers <= 0 {
		workers = 16
	}
	p("# For each 512 KiB block N of %s that is not all zeros (the last one padded", image)
	p("# with zeros), %d requests in flight, retried with backoff on throttling and 5xx:", workers)
	put := append(lit("aws", "ebs", "put-snapshot-block"), common...)
	put = append(put, lit("--snapshot-id")...)
	put = append(put, env("SNAPSHOT_ID"))
	p("#   %s --block-index N --block-data BLOCK_N --data-length %d \\", line(put), ebsupload.BlockSize)
	p("#     --checksum BASE64_SHA256_OF_BLOCK_N --checksum-algorithm SHA256")
	p("# then, with COUNT the number of blocks sent and AGGREGATE the base64 SHA-256 of")
	p("# their binary SHA-256 digests concatenated in block order:")
	complete := append(lit("aws", "ebs", "complete-snapshot"), common...)
	complete = append(complete, lit("--snapshot-id")...)
	complete = append(complete, env("SNAPSHOT_ID"))
	p("#   %s --changed-blocks-count COUNT \\", line(complete))
	p("#     --checksum AGGREGATE --checksum-algorithm SHA256 --checksum-aggregation-method LINEAR")
	waitSnap := append(lit("aws", "ec2", "wait", "snapshot-completed"), common...)
	p("%s", line(waitSnap, lit("--snapshot-ids"), []word{env("SNAPSHOT_ID")}))

	p("")
	p("# 2. Register the image (%s).", j.Virt)
	in := j.RegisterInput("SNAPSHOT_ID")
	reg := append(lit("aws", "ec2", "register-image"), common...)
	// The name is the machine name and the snapshot ID.
	p(`IMAGE_NAME=%s-"$SNAPSHOT_ID"`, shellquote.Quote(strings.TrimSuffix(j.ImageName("X"), "-X")))
	reg = append(reg, lit("--name")...)
	reg = append(reg, env("IMAGE_NAME"))
	if in.Description != nil {
		reg = append(reg, lit("--description", *in.Description)...)
	}
	reg = append(reg, lit("--architecture", string(in.Architecture), "--virtualization-type", *in.VirtualizationType)...)
	if in.KernelId != nil {
		reg = append(reg, lit("--kernel-id", *in.KernelId)...)
	}
	if in.BootMode != "" {
		reg = append(reg, lit("--boot-mode", string(in.BootMode))...)
	}
	if in.EnaSupport != nil && !*in.EnaSupport {
		reg = append(reg, lit("--no-ena-support")...)
	}
	reg = append(reg, lit("--root-device-name", *in.RootDeviceName)...)
	ebsDev := in.BlockDeviceMappings[0].Ebs
	// The snapshot ID comes from a variable: the JSON is built around it.
	bdmHead := fmt.Sprintf(`[{"DeviceName":%q,"Ebs":{"SnapshotId":"`, *in.BlockDeviceMappings[0].DeviceName)
	bdmTail := fmt.Sprintf(`","VolumeSize":%d,"VolumeType":%q,"DeleteOnTermination":true}}]`, *ebsDev.VolumeSize, ebsDev.VolumeType)
	tagSpec := jsonArg([]any{map[string]any{"ResourceType": "image", "Tags": tagsJSON(in.TagSpecifications[0].Tags)}})
	p("%s \\\n  --block-device-mappings %s\"$SNAPSHOT_ID\"%s \\\n  --tag-specifications %s \\\n  --query ImageId --output text",
		"IMAGE_ID=$("+line(reg), shellquote.Quote(bdmHead), shellquote.Quote(bdmTail), shellquote.Quote(tagSpec))
	p(")")
	p(`echo "$IMAGE_ID"`)
	if j.Run == nil {
		_, err := io.WriteString(w, b.String())
		return err
	}

	p("")
	p("# 3. Run an instance.")
	waitImg := append(lit("aws", "ec2", "wait", "image-available"), common...)
	p("%s", line(waitImg, lit("--image-ids"), []word{env("IMAGE_ID")}))
	ri := j.RunInput("IMAGE_ID")
	run := append(lit("aws", "ec2", "run-instances"), common...)
	run = append(run, lit("--image-id")...)
	run = append(run, env("IMAGE_ID"))
	run = append(run, lit("--instance-type", string(ri.InstanceType), "--count", "1")...)
	if ri.SubnetId != nil {
		run = append(run, lit("--subnet-id", *ri.SubnetId)...)
	}
	if len(ri.SecurityGroupIds) > 0 {
		run = append(run, lit("--security-group-ids")...)
		run = append(run, lit(ri.SecurityGroupIds...)...)
	}
	if ri.KeyName != nil {
		run = append(run, lit("--key-name", *ri.KeyName)...)
	}
	if ri.InstanceInitiatedShutdownBehavior != "" {
		run = append(run, lit("--instance-initiated-shutdown-behavior", string(ri.InstanceInitiatedShutdownBehavior))...)
	}
	run = append(run, lit("--tag-specifications", jsonArg([]any{map[string]any{"ResourceType": "instance", "Tags": tagsJSON(ri.TagSpecifications[0].Tags)}}))...)
	run = append(run, lit("--query", "Instances[0].InstanceId", "--output", "text")...)
	p("INSTANCE_ID=$(%s)", line(run))
	p(`echo "$INSTANCE_ID"`)
	waitRun := append(lit("aws", "ec2", "wait", "instance-running"), common...)
	p("%s", line(waitRun, lit("--instance-ids"), []word{env("INSTANCE_ID")}))
	if o.Follow {
		p("")
		p("# 4. Follow the console (every %s) until rumprun prints its exit marker", DefaultPoll)
		p("#    (=== _exit(N) called ===), checking that the instance still runs:")
		gc := append(lit("aws", "ec2", "get-console-output"), common...)
		di := append(lit("aws", "ec2", "describe-instances"), common...)
		p("#   %s", line(gc, lit("--instance-id"), []word{env("INSTANCE_ID")}, lit("--output", "text")))
		p("#   %s", line(di, lit("--instance-ids"), []word{env("INSTANCE_ID")}))
		if j.Run.Terminate {
			p("# and then:")
			ti := append(lit("aws", "ec2", "terminate-instances"), common...)
			p("%s", line(ti, lit("--instance-ids"), []word{env("INSTANCE_ID")}))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
