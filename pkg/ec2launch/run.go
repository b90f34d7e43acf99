package ec2launch

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/rumptools/rumptools/pkg/ebsupload"
	"github.com/rumptools/rumptools/pkg/launch"
)

// lateLooks is how many more times the console of an instance that
// stopped is looked at for the program's exit (a minute at DefaultPoll).
const lateLooks = 12

// DefaultPoll is the time between two looks at a snapshot, an image, an
// instance or a console.
const DefaultPoll = 5 * time.Second

// Runner performs jobs.
type Runner struct {
	Clients *Clients
	Poll    time.Duration     // 0 means DefaultPoll
	Upload  ebsupload.Options // workers, retries, progress; description, tags and size come from the job
	Log     func(string)      // step reports for people (nil: none)
	Console io.Writer         // where a followed console goes
	IDs     func(id string)   // called with the image ID and then the instance ID as each exists
}

// Result is what a job made.
type Result struct {
	Upload     *ebsupload.Result
	SnapshotID string
	ImageID    string
	InstanceID string
	// Outcome is what the console said, when it was followed.
	Outcome *launch.Outcome
}

func (r *Runner) logf(format string, args ...any) {
	if r.Log != nil {
		r.Log(fmt.Sprintf(format, args...))
	}
}

func (r *Runner) wait(ctx context.Context) error {
	d := r.Poll
	if d == 0 {
		d = DefaultPoll
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run uploads the image (size bytes from image), waits for the snapshot,
// registers the image and, when the job says so, runs an instance and
// waits until it runs; with follow it then follows the console until the
// program exits. Whatever was made before a failure is in the Result.
func (r *Runner) Run(ctx context.Context, j *Job, image io.Reader, size int64, follow bool) (*Result, error) {
	if err := j.Check(); err != nil {
		return nil, err
	}
	res := &Result{}
	uo := r.Upload
	uo.Description, uo.Tags, uo.VolumeSize = j.Description, j.SnapshotTags(), j.VolumeSize
	up, err := ebsupload.Upload(ctx, r.Clients.EBS, image, size, uo)
	if err != nil {
		return res, fmt.Errorf("upload: %w", err)
	}
	res.Upload, res.SnapshotID = up, up.SnapshotID
	r.logf("snapshot %s: sent %d of %d blocks of 512 KiB (the rest are zeros)", up.SnapshotID, up.Sent, up.Blocks)
	if err := r.WaitSnapshot(ctx, up.SnapshotID); err != nil {
		return res, err
	}

	reg, err := r.Clients.EC2.RegisterImage(ctx, j.RegisterInput(up.SnapshotID))
	if err != nil {
		return res, fmt.Errorf("RegisterImage: %w", err)
	}
	res.ImageID = aws.ToString(reg.ImageId)
	r.logf("image %s registered (%s, %s)", res.ImageID, j.Virt, j.Arch)
	if r.IDs != nil {
		r.IDs(res.ImageID)
	}
	if j.Run == nil {
		return res, nil
	}
	if err := r.WaitImage(ctx, res.ImageID); err != nil {
		return res, err
	}
	run, err := r.Clients.EC2.RunInstances(ctx, j.RunInput(res.ImageID))
	if err != nil {
		return res, fmt.Errorf("RunInstances: %w", err)
	}
	if len(run.Instances) != 1 {
		return res, fmt.Errorf("RunInstances started %d instances, want 1", len(run.Instances))
	}
	res.InstanceID = aws.ToString(run.Instances[0].InstanceId)
	if r.IDs != nil {
		r.IDs(res.InstanceID)
	}
	if err := r.WaitRunning(ctx, res.InstanceID); err != nil {
		return res, r.cleanup(j, res, err)
	}
	r.logf("instance %s running (%s)", res.InstanceID, j.Run.InstanceType)
	if !follow {
		return res, nil
	}
	o, err := r.Follow(ctx, res.InstanceID)
	res.Outcome = o
	return res, r.cleanup(j, res, err)
}

// cleanup terminates the instance of a job that asked for it, also after
// a failure or an interrupt, and returns err (or the termination's error).
func (r *Runner) cleanup(j *Job, res *Result, err error) error {
	if !j.Run.Terminate || res.InstanceID == "" {
		return err
	}
	// A fresh context: the job's may be what was cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, terr := r.Clients.EC2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{res.InstanceID}})
	if terr != nil {
		terr = fmt.Errorf("TerminateInstances %s: %w", res.InstanceID, terr)
		if err == nil {
			return terr
		}
		return errors.Join(err, terr)
	}
	r.logf("instance %s terminated", res.InstanceID)
	return err
}

// WaitSnapshot polls DescribeSnapshots until the snapshot is completed.
func (r *Runner) WaitSnapshot(ctx context.Context, id string) error {
	last := ""
	for {
		out, err := r.Clients.EC2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{id}})
		if err != nil {
			return fmt.Errorf("DescribeSnapshots %s: %w", id, err)
		}
		if len(out.Snapshots) != 1 {
			return fmt.Errorf("DescribeSnapshots %s: %d snapshots returned", id, len(out.Snapshots))
		}
		s := out.Snapshots[0]
		switch s.State {
		case types.SnapshotStateCompleted:
			return nil
		case types.SnapshotStateError:
			return fmt.Errorf("snapshot %s failed: %s", id, aws.ToString(s.StateMessage))
		}
		if p := aws.ToString(s.Progress); p != last {
			r.logf("snapshot %s %s, %s", id, s.State, p)
			last = p
		}
		if err := r.wait(ctx); err != nil {
			return fmt.Errorf("waiting for snapshot %s: %w", id, err)
		}
	}
}

// WaitImage polls DescribeImages until the image is available.
func (r *Runner) WaitImage(ctx context.Context, id string) error {
	for {
		out, err := r.Clients.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
		if err != nil {
			return fmt.Errorf("DescribeImages %s: %w", id, err)
		}
		if len(out.Images) == 1 {
			im := out.Images[0]
			switch im.State {
			case types.ImageStateAvailable:
				return nil
			case types.ImageStateFailed, types.ImageStateError, types.ImageStateInvalid, types.ImageStateDeregistered:
				reason := ""
				if im.StateReason != nil {
					reason = ": " + aws.ToString(im.StateReason.Message)
				}
				return fmt.Errorf("image %s is %s%s", id, im.State, reason)
			}
		}
		if err := r.wait(ctx); err != nil {
			return fmt.Errorf("waiting for image %s: %w", id, err)
		}
	}
}

// instanceState returns an instance's state and, if any, why it changed.
func (r *Runner) instanceState(ctx context.Context, id string) (types.InstanceStateName, string, error) {
	out, err := r.Clients.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return "", "", fmt.Errorf("DescribeInstances %s: %w", id, err)
	}
	for _, res := range out.Reservations {
		for _, in := range res.Instances {
			if aws.ToString(in.InstanceId) != id || in.State == nil {
				continue
			}
			why := ""
			if in.StateReason != nil {
				why = aws.ToString(in.StateReason.Message)
			}
			return in.State.Name, why, nil
		}
	}
	// Just after RunInstances an instance may not be visible yet.
	return types.InstanceStateNamePending, "", nil
}

// WaitRunning polls DescribeInstances until the instance runs.
func (r *Runner) WaitRunning(ctx context.Context, id string) error {
	for {
		state, why, err := r.instanceState(ctx, id)
		if err != nil {
			return err
		}
		switch state {
		case types.InstanceStateNameRunning:
			return nil
		case types.InstanceStateNamePending:
		default:
			if why != "" {
				why = " (" + why + ")"
			}
			return fmt.Errorf("instance %s is %s instead of running%s", id, state, why)
		}
		if err := r.wait(ctx); err != nil {
			return fmt.Errorf("waiting for instance %s: %w", id, err)
		}
	}
}

// Follow copies the instance's console output to r.Console as it grows
// and returns once rumprun's markers say the program exited, the kernel
// halted or failed to bootstrap. The console EC2 keeps is the last 64 KiB,
// updated from time to time, so each look is joined to the text already
// shown. An instance that stops or terminates before a marker is an error.
func (r *Runner) Follow(ctx context.Context, id string) (*launch.Outcome, error) {
	out := r.Console
	if out == nil {
		out = io.Discard
	}
	w := launch.NewWatcher(out, nil)
	var shown string
	look := func() error {
		c, err := r.Clients.EC2.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String(id)})
		if err != nil {
			return fmt.Errorf("GetConsoleOutput %s: %w", id, err)
		}
		raw, err := base64.StdEncoding.DecodeString(aws.ToString(c.Output))
		if err != nil {
			return fmt.Errorf("GetConsoleOutput %s: output is not base64: %w", id, err)
		}
		text := string(raw)
		io.WriteString(w, newText(shown, text))
		if text != "" {
			shown = text
		}
		return nil
	}
	done := func() bool { o := w.Outcome(); return o.Exited || o.Done() }
	for {
		if err := look(); err != nil {
			return nil, err
		}
		if done() {
			o := w.Outcome()
			return &o, nil
		}
		state, why, err := r.instanceState(ctx, id)
		if err != nil {
			return nil, err
		}
		switch state {
		case types.InstanceStateNameStopped, types.InstanceStateNameStopping,
			types.InstanceStateNameShuttingDown, types.InstanceStateNameTerminated:
			// A Xen PV kernel powers off when its program exits, and EC2
			// publishes the console of Xen instances around such state
			// changes: the last words may still be on their way.
			for range lateLooks {
				if err := look(); err != nil {
					return nil, err
				}
				if done() {
					o := w.Outcome()
					return &o, nil
				}
				if err := r.wait(ctx); err != nil {
					o := w.Outcome()
					return &o, fmt.Errorf("following the console of %s: %w", id, err)
				}
			}
			o := w.Outcome()
			if why != "" {
				why = " (" + why + ")"
			}
			return &o, fmt.Errorf("instance %s is %s%s, and its console shows no exit of the program", id, state, why)
		}
		if err := r.wait(ctx); err != nil {
			o := w.Outcome()
			return &o, fmt.Errorf("following the console of %s: %w", id, err)
		}
	}
}

// newText returns the part of console text not yet shown. When the 64 KiB
// window has moved on, the end of what was shown is looked for in it.
func newText(shown, text string) string {
	if strings.HasPrefix(text, shown) {
		return text[len(shown):]
	}
	anchor := shown[max(0, len(shown)-1024):]
	if i := strings.LastIndex(text, anchor); i >= 0 && anchor != "" {
		return text[i+len(anchor):]
	}
	if strings.HasSuffix(shown, text) {
		return ""
	}
	return text
}
