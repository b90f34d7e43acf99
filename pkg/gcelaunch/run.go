package gcelaunch

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	compute "google.golang.org/api/compute/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	storage "google.golang.org/api/storage/v1"
	htransport "google.golang.org/api/transport/http"

	"github.com/rumptools/rumptools/pkg/gcsupload"
	"github.com/rumptools/rumptools/pkg/launch"
)

// Scope is the OAuth scope the clients ask for.
const Scope = "https://www.googleapis.com/auth/cloud-platform"

// Endpoints are the services' base URLs; "" means Google's.
type Endpoints struct {
	Compute, Storage string
}

// EndpointsFromEnv reads the gcloud properties api_endpoint_overrides/compute
// and api_endpoint_overrides/storage from their environment variables, so
// that the tool and the gcloud commands of its -n script talk to the same
// endpoints.
func EndpointsFromEnv() Endpoints {
	return Endpoints{
		Compute: os.Getenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE"),
		Storage: os.Getenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE"),
	}
}

// Clients are what a Runner calls.
type Clients struct {
	HTTP        *http.Client // authenticated; the upload uses it
	Compute     *compute.Service
	Storage     *storage.Service
	StorageBase string // the JSON API's base URL
}

// NewClients makes the clients with Application Default Credentials
// (GOOGLE_APPLICATION_CREDENTIALS, gcloud's application-default login, or
// the metadata server of a Google Cloud machine). It contacts nothing:
// credentials are looked up at the first call.
func NewClients(ctx context.Context, e Endpoints) (*Clients, error) {
	hc, _, err := htransport.NewClient(ctx, option.WithScopes(Scope))
	if err != nil {
		return nil, fmt.Errorf("Google Cloud credentials: %w", err)
	}
	c := &Clients{HTTP: hc, StorageBase: gcsupload.DefaultBaseURL}
	copts := []option.ClientOption{option.WithHTTPClient(hc)}
	sopts := []option.ClientOption{option.WithHTTPClient(hc)}
	if e.Compute != "" {
		copts = append(copts, option.WithEndpoint(e.Compute))
	}
	if e.Storage != "" {
		sopts = append(sopts, option.WithEndpoint(e.Storage))
		c.StorageBase = e.Storage
	}
	if c.Compute, err = compute.NewService(ctx, copts...); err != nil {
		return nil, err
	}
	if c.Storage, err = storage.NewService(ctx, sopts...); err != nil {
		return nil, err
	}
	return c, nil
}

// DefaultPoll is the time between two looks at the console or at an
// instance.
const DefaultPoll = 5 * time.Second

// Runner performs jobs.
type Runner struct {
	Clients *Clients
	Poll    time.Duration     // 0 means DefaultPoll
	Upload  gcsupload.Options // chunk size, retries, progress; client and base URL come from Clients
	Log     func(string)      // step reports for people (nil: none)
	Console io.Writer         // where a followed console goes
	Names   func(name string) // called with the image's and then the instance's name as each exists
}

// Result is what a job made.
type Result struct {
	Upload      *gcsupload.Result // nil when the image existed
	Image       string
	ImageReused bool
	Instance    string
	ExternalIP  string
	Outcome     *launch.Outcome // what the console said, when it was followed
}

func (r *Runner) logf(format string, args ...any) {
	if r.Log != nil {
		r.Log(fmt.Sprintf(format, args...))
	}
}

func (r *Runner) pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Runner) poll() time.Duration {
	if r.Poll > 0 {
		return r.Poll
	}
	return DefaultPoll
}

// call runs f until it succeeds, fails for good or has failed five times,
// with backoff; inserts carry a request ID, so that a retried one cannot
// make a second resource.
func (r *Runner) call(ctx context.Context, what string, f func() error) error {
	delay := min(r.poll(), time.Second)
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		if !gcsupload.Transient(err) || attempt == 5 || ctx.Err() != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return fmt.Errorf("%s: %w", what, err)
		}
		r.logf("%s: %v; trying again", what, err)
		if err := r.pause(ctx, delay); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		delay *= 2
	}
}

// requestID returns a random UUID for the requestId of an insert.
func requestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func isCode(err error, code int) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == code
}

// operationError turns a finished operation's errors into one error.
func operationError(op *compute.Operation) error {
	if op.Error == nil || len(op.Error.Errors) == 0 {
		return nil
	}
	var msgs []string
	for _, e := range op.Error.Errors {
		msgs = append(msgs, e.Code+": "+e.Message)
	}
	return errors.New(strings.Join(msgs, "; "))
}

// waitGlobal and waitZone wait for an operation to be DONE (the wait call
// returns when it is, or after two minutes) and return its errors.
func (r *Runner) waitGlobal(ctx context.Context, j *Job, op *compute.Operation) error {
	for op.Status != "DONE" {
		var err error
		name := op.Name
		err = r.call(ctx, "waiting for operation "+name, func() error {
			op, err = r.Clients.Compute.GlobalOperations.Wait(j.Project, name).Context(ctx).Do()
			return err
		})
		if err != nil {
			return err
		}
	}
	return operationError(op)
}

func (r *Runner) waitZone(ctx context.Context, j *Job, op *compute.Operation) error {
	for op.Status != "DONE" {
		var err error
		name := op.Name
		err = r.call(ctx, "waiting for operation "+name, func() error {
			op, err = r.Clients.Compute.ZoneOperations.Wait(j.Project, j.Zone, name).Context(ctx).Do()
			return err
		})
		if err != nil {
			return err
		}
	}
	return operationError(op)
}

// Run makes the image (unless an image of the same name, thus from the
// same archive, exists: then nothing is uploaded), starts the instance and
// waits until it runs; with j.Follow it follows the console until the
// program exits, and with j.Remove it then deletes what the job asked.
// archive opens the archive when it is to be uploaded. Whatever was made
// before a failure is in the Result.
func (r *Runner) Run(ctx context.Context, j *Job, archive func() io.ReadCloser) (*Result, error) {
	if err := j.Check(); err != nil {
		return nil, err
	}
	res := &Result{}
	n := j.Names()
	uploaded := false
	objectGone := false
	removeObject := func() error {
		if !uploaded || objectGone || !j.Remove {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := r.call(ctx, "deleting gs://"+j.Bucket+"/"+n.Object, func() error {
			return r.Clients.Storage.Objects.Delete(j.Bucket, n.Object).Context(ctx).Do()
		})
		if err == nil || isCode(err, http.StatusNotFound) {
			objectGone = true
			r.logf("gs://%s/%s deleted", j.Bucket, n.Object)
			return nil
		}
		return err
	}

	reused, err := r.existingImage(ctx, j)
	if err != nil {
		return res, err
	}
	if reused {
		res.ImageReused = true
		r.logf("image %s exists (made from the same archive): nothing to upload", n.Image)
	} else {
		rc := archive()
		uo := r.Upload
		uo.Client, uo.BaseURL = r.Clients.HTTP, r.Clients.StorageBase
		obj := gcsupload.Object{Bucket: j.Bucket, Name: n.Object, Size: j.Archive.Size, MD5: j.Archive.MD5[:],
			CRC32C: j.Archive.CRC32C, ContentType: "application/gzip"}
		up, err := gcsupload.Upload(ctx, rc, obj, uo)
		rc.Close()
		res.Upload = up
		if err != nil {
			return res, fmt.Errorf("uploading gs://%s/%s: %w", j.Bucket, n.Object, err)
		}
		uploaded = true
		r.logf("gs://%s/%s: %d bytes uploaded in %d requests (%d retried)", j.Bucket, n.Object, j.Archive.Size, up.Requests, up.Retries)

		if err := r.makeImage(ctx, j); err != nil {
			return res, errors.Join(err, removeObject())
		}
		r.logf("image %s ready", n.Image)
	}
	res.Image = n.Image
	if r.Names != nil {
		r.Names(n.Image)
	}
	if err := removeObject(); err != nil {
		return res, err
	}

	id := requestID()
	var op *compute.Operation
	err = r.call(ctx, "creating instance "+n.Instance, func() error {
		op, err = r.Clients.Compute.Instances.Insert(j.Project, j.Zone, j.InstanceRequest()).RequestId(id).Context(ctx).Do()
		return err
	})
	if isCode(err, http.StatusConflict) {
		return res, fmt.Errorf("instance %s exists in %s (from an earlier run without --rm?): delete it (gcloud compute instances delete %s --zone %s) or give another --name",
			n.Instance, j.Zone, n.Instance, j.Zone)
	}
	if err != nil {
		return res, err
	}
	res.Instance = n.Instance
	if r.Names != nil {
		r.Names(n.Instance)
	}
	if err := r.waitZone(ctx, j, op); err != nil {
		return res, r.cleanup(j, res, fmt.Errorf("creating instance %s: %w", n.Instance, err))
	}
	in, err := r.instance(ctx, j)
	if err != nil {
		return res, r.cleanup(j, res, err)
	}
	for _, nic := range in.NetworkInterfaces {
		for _, ac := range nic.AccessConfigs {
			if ac.NatIP != "" && res.ExternalIP == "" {
				res.ExternalIP = ac.NatIP
			}
		}
	}
	where := "no external address"
	if res.ExternalIP != "" {
		where = "external address " + res.ExternalIP
	}
	r.logf("instance %s is %s in %s (%s, %s)", n.Instance, in.Status, j.Zone, j.machineType(), where)
	if !j.Follow {
		return res, nil
	}
	o, err := r.Follow(ctx, j)
	res.Outcome = o
	return res, r.cleanup(j, res, err)
}

// existingImage looks for the job's image: READY means it can be used;
// one being made is waited for; a failed one is an error.
func (r *Runner) existingImage(ctx context.Context, j *Job) (bool, error) {
	name := j.Names().Image
	for {
		var im *compute.Image
		err := r.call(ctx, "looking for image "+name, func() error {
			var err error
			im, err = r.Clients.Compute.Images.Get(j.Project, name).Context(ctx).Do()
			return err
		})
		switch {
		case isCode(err, http.StatusNotFound):
			return false, nil
		case err != nil:
			return false, err
		case im.Status == "READY":
			return true, nil
		case im.Status == "FAILED" || im.Status == "DELETING":
			return false, fmt.Errorf("image %s is %s: delete it (gcloud compute images delete %s --project %s) and try again", name, im.Status, name, j.Project)
		}
		r.logf("image %s is %s", name, im.Status)
		if err := r.pause(ctx, r.poll()); err != nil {
			return false, err
		}
	}
}

// makeImage creates the image from the uploaded archive and waits until
// it is ready.
func (r *Runner) makeImage(ctx context.Context, j *Job) error {
	name := j.Names().Image
	id := requestID()
	var op *compute.Operation
	err := r.call(ctx, "creating image "+name, func() error {
		var err error
		op, err = r.Clients.Compute.Images.Insert(j.Project, j.ImageRequest()).RequestId(id).Context(ctx).Do()
		return err
	})
	if isCode(err, http.StatusConflict) {
		// Made meanwhile by another run from the same archive.
		if ok, err := r.existingImage(ctx, j); ok || err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	if err := r.waitGlobal(ctx, j, op); err != nil {
		return fmt.Errorf("creating image %s from %s: %w", name, j.ObjectURL(), err)
	}
	return nil
}

func (r *Runner) instance(ctx context.Context, j *Job) (*compute.Instance, error) {
	var in *compute.Instance
	err := r.call(ctx, "looking at instance "+j.Names().Instance, func() error {
		var err error
		in, err = r.Clients.Compute.Instances.Get(j.Project, j.Zone, j.Names().Instance).Context(ctx).Do()
		return err
	})
	return in, err
}

// lateLooks is how many more times the console of an instance that has
// stopped is read for the program's exit.
const lateLooks = 3

// Follow copies serial port 1 to r.Console, from its first byte, each
// look asking from where the last one ended, and returns once rumprun's
// markers say that the program exited, the kernel halted or failed to
// bootstrap. An instance that stops first is an error. Compute Engine
// keeps the last 1 MiB: output that scrolled away between two looks is
// reported, not silently skipped.
func (r *Runner) Follow(ctx context.Context, j *Job) (*launch.Outcome, error) {
	out := r.Console
	if out == nil {
		out = io.Discard
	}
	w := launch.NewWatcher(out, nil)
	name := j.Names().Instance
	var next int64
	late := -1 // looks left once the instance has stopped
	for {
		var sp *compute.SerialPortOutput
		err := r.call(ctx, "reading the console of "+name, func() error {
			var err error
			sp, err = r.Clients.Compute.Instances.GetSerialPortOutput(j.Project, j.Zone, name).Port(1).Start(next).Context(ctx).Do()
			return err
		})
		if err == nil {
			if sp.Start > next {
				r.logf("%d bytes of console output were lost (Compute Engine keeps the last 1 MiB)", sp.Start-next)
			}
			io.WriteString(w, sp.Contents)
			next = sp.Next
			if o := w.Outcome(); o.Exited || o.Done() {
				return &o, nil
			}
		}
		if err != nil || sp.Contents == "" {
			// Nothing new: is the instance still running? One that
			// stopped may still have words on their way, for a few looks.
			in, ierr := r.instance(ctx, j)
			if ierr != nil {
				o := w.Outcome()
				return &o, errors.Join(err, ierr)
			}
			switch in.Status {
			case "RUNNING", "PROVISIONING", "STAGING":
				if err != nil {
					o := w.Outcome()
					return &o, err
				}
			default:
				if late < 0 {
					late = lateLooks
				}
				if err != nil || late == 0 {
					o := w.Outcome()
					return &o, fmt.Errorf("instance %s is %s, and its console shows no exit of the program", name, in.Status)
				}
				late--
			}
		}
		if err := r.pause(ctx, r.poll()); err != nil {
			o := w.Outcome()
			return &o, fmt.Errorf("following the console of %s: %w", name, err)
		}
	}
}

// cleanup deletes the instance (and with RemoveImage the image) of a job
// that asked for it, also after a failure or an interrupt, and returns err
// joined with any error of the deletions.
func (r *Runner) cleanup(j *Job, res *Result, err error) error {
	if !j.Remove || res.Instance == "" {
		return err
	}
	// A fresh context: the job's may be what was cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n := j.Names()
	id := requestID()
	var op *compute.Operation
	derr := r.call(ctx, "deleting instance "+n.Instance, func() error {
		var err error
		op, err = r.Clients.Compute.Instances.Delete(j.Project, j.Zone, n.Instance).RequestId(id).Context(ctx).Do()
		return err
	})
	if derr == nil {
		derr = r.waitZone(ctx, j, op)
	}
	if derr != nil {
		return errors.Join(err, fmt.Errorf("deleting instance %s: %w", n.Instance, derr))
	}
	r.logf("instance %s deleted", n.Instance)
	if !j.RemoveImage {
		return err
	}
	id = requestID()
	derr = r.call(ctx, "deleting image "+n.Image, func() error {
		var err error
		op, err = r.Clients.Compute.Images.Delete(j.Project, n.Image).RequestId(id).Context(ctx).Do()
		return err
	})
	if derr == nil {
		derr = r.waitGlobal(ctx, j, op)
	}
	if derr != nil {
		return errors.Join(err, fmt.Errorf("deleting image %s: %w", n.Image, derr))
	}
	r.logf("image %s deleted", n.Image)
	return err
}
