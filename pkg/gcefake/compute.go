package gcefake

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	compute "google.golang.org/api/compute/v1"
)

// Image is one image, as inserted.
type Image struct {
	Project string
	Request compute.Image // the insert request as received
	Status  string        // "PENDING", "READY" or "FAILED"
	// What the archive held, read as Compute Engine reads it.
	DiskSize  int64
	Format    tar.Format
	Typeflag  byte
	DataBytes int64 // bytes of disk.raw that are not zero
}

// Instance is one instance, as inserted.
type Instance struct {
	Project, Zone string
	Request       compute.Instance
	Status        string // "PROVISIONING", "RUNNING", "TERMINATED", ...
	serialCalls   int
	console       string
}

type operation struct {
	op     compute.Operation
	polls  int
	finish func() *compute.OperationError // applies the operation's effect when it is done
}

// Image returns the image project/name, or nil.
func (s *Server) Image(project, name string) *Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.images[project+"/"+name]
}

// Images lists the images as "project/name".
func (s *Server) Images() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.images {
		out = append(out, k)
	}
	return out
}

// Instance returns the instance project/zone/name, or nil.
func (s *Server) Instance(project, zone, name string) *Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.instances[project+"/"+zone+"/"+name]
}

// Instances lists the instances as "project/zone/name".
func (s *Server) Instances() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.instances {
		out = append(out, k)
	}
	return out
}

// AddImage makes a READY image, as if an earlier run had made it.
func (s *Server) AddImage(project, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.images[project+"/"+name] = &Image{Project: project, Request: compute.Image{Name: name}, Status: "READY"}
}

var nameRE = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		apiError(w, http.StatusBadRequest, "parseError", s.violate("%s: body: %v", r.URL.Path, err))
		return false
	}
	return true
}

// repeated answers a request whose requestId was seen before with the
// operation the first one started, as Compute Engine does, so that a
// client can retry an insert safely.
func (s *Server) repeated(w http.ResponseWriter, r *http.Request) bool {
	id := r.URL.Query().Get("requestId")
	name, ok := s.requestIDs[id]
	if id == "" || !ok {
		return false
	}
	writeJSON(w, http.StatusOK, s.ops[name].op)
	return true
}

// startOp records an operation and answers with it; finish runs when it
// is done.
func (s *Server) startOp(w http.ResponseWriter, r *http.Request, kind, target string, finish func() *compute.OperationError) {
	name := s.nextID("operation-")
	op := &operation{op: compute.Operation{Kind: "compute#operation", Name: name, OperationType: kind, Status: "RUNNING", TargetLink: target}, finish: finish}
	if zone := r.PathValue("zone"); zone != "" {
		op.op.Zone = zone
	}
	s.ops[name] = op
	if id := r.URL.Query().Get("requestId"); id != "" {
		s.requestIDs[id] = name
	}
	writeJSON(w, http.StatusOK, op.op)
}

func (s *Server) opGet(w http.ResponseWriter, r *http.Request, c *Call) {
	op := s.ops[r.PathValue("op")]
	if op == nil || op.op.Zone != r.PathValue("zone") {
		apiError(w, http.StatusNotFound, "notFound", s.violate("%s: no operation %q here", c.Op, r.PathValue("op")))
		return
	}
	if op.op.Status != "DONE" {
		op.polls++
		if op.polls > s.OperationPolls {
			op.op.Status = "DONE"
			op.op.Progress = 100
			if e := op.finish(); e != nil {
				op.op.Error = e
				op.op.HttpErrorStatusCode = 400
			}
		}
	}
	writeJSON(w, http.StatusOK, op.op)
}

func opError(code, msg string) *compute.OperationError {
	return &compute.OperationError{Errors: []*compute.OperationErrorErrors{{Code: code, Message: msg}}}
}

func (s *Server) imageGet(w http.ResponseWriter, r *http.Request, c *Call) {
	im := s.images[r.PathValue("project")+"/"+r.PathValue("image")]
	if im == nil {
		apiError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The resource 'projects/%s/global/images/%s' was not found", r.PathValue("project"), r.PathValue("image")))
		return
	}
	out := im.Request
	out.Status = im.Status
	out.DiskSizeGb = im.DiskSize >> 30
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) imageInsert(w http.ResponseWriter, r *http.Request, c *Call) {
	project := r.PathValue("project")
	var req compute.Image
	if !s.decode(w, r, &req) {
		return
	}
	key := project + "/" + req.Name
	if s.repeated(w, r) {
		return
	}
	switch {
	case !nameRE.MatchString(req.Name):
		apiError(w, http.StatusBadRequest, "invalid", s.violate("images.insert: name %q", req.Name))
		return
	case s.images[key] != nil:
		apiError(w, http.StatusConflict, "alreadyExists", fmt.Sprintf("The resource 'projects/%s/global/images/%s' already exists", project, req.Name))
		return
	case req.RawDisk == nil || req.RawDisk.Source == "":
		apiError(w, http.StatusBadRequest, "required", s.violate("images.insert: no rawDisk.source"))
		return
	}
	if err := checkLabels(req.Labels); err != nil {
		apiError(w, http.StatusBadRequest, "invalid", s.violate("images.insert: %v", err))
		return
	}
	im := &Image{Project: project, Request: req, Status: "PENDING"}
	s.images[key] = im
	s.startOp(w, r, "insert", "projects/"+project+"/global/images/"+req.Name, func() *compute.OperationError {
		o, err := s.objectAt(req.RawDisk.Source)
		if err == nil {
			err = im.read(o)
		}
		if err != nil {
			im.Status = "FAILED"
			return opError("INVALID_IMAGE_FILE", err.Error())
		}
		im.Status = "READY"
		return nil
	})
}

// read checks an image archive as Compute Engine does: gzip, a tar
// holding exactly disk.raw, a whole number of GiB.
func (im *Image) read(o *Object) error {
	if o.Data == nil {
		return errors.New("the fake kept no data of the object (DiscardData)")
	}
	zr, err := gzip.NewReader(bytes.NewReader(o.Data))
	if err != nil {
		return fmt.Errorf("not a gzip file: %v", err)
	}
	tr := tar.NewReader(zr)
	h, err := tr.Next()
	if err != nil {
		return fmt.Errorf("tar: %v", err)
	}
	if h.Name != "disk.raw" {
		return fmt.Errorf("the archive holds %q, not disk.raw", h.Name)
	}
	if h.Size <= 0 || h.Size%(1<<30) != 0 {
		return fmt.Errorf("disk.raw has %d bytes, not a whole number of GiB", h.Size)
	}
	nz := &nonZero{}
	if n, err := io.Copy(nz, tr); err != nil || n != h.Size {
		return fmt.Errorf("disk.raw: %d of %d bytes: %v", n, h.Size, err)
	}
	if _, err := tr.Next(); err != io.EOF {
		return fmt.Errorf("the archive holds more than disk.raw (%v)", err)
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return fmt.Errorf("gzip: %v", err)
	}
	im.DiskSize, im.Format, im.Typeflag, im.DataBytes = h.Size, h.Format, h.Typeflag, nz.n
	return nil
}

// nonZero counts the bytes written to it that are not zero.
type nonZero struct{ n int64 }

var zeros [4096]byte

func (z *nonZero) Write(p []byte) (int, error) {
	for q := p; len(q) > 0; {
		k := min(len(q), len(zeros))
		if !bytes.Equal(q[:k], zeros[:k]) {
			for _, b := range q[:k] {
				if b != 0 {
					z.n++
				}
			}
		}
		q = q[k:]
	}
	return len(p), nil
}

func (s *Server) imageDelete(w http.ResponseWriter, r *http.Request, c *Call) {
	project, name := r.PathValue("project"), r.PathValue("image")
	if s.images[project+"/"+name] == nil {
		apiError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The resource 'projects/%s/global/images/%s' was not found", project, name))
		return
	}
	s.startOp(w, r, "delete", "projects/"+project+"/global/images/"+name, func() *compute.OperationError {
		delete(s.images, project+"/"+name)
		return nil
	})
}

// checkLabels applies Compute Engine's rules for labels.
func checkLabels(labels map[string]string) error {
	keyRE := regexp.MustCompile(`^[a-z][-_a-z0-9]{0,62}$`)
	valRE := regexp.MustCompile(`^[-_a-z0-9]{0,63}$`)
	if len(labels) > 64 {
		return fmt.Errorf("%d labels", len(labels))
	}
	for k, v := range labels {
		if !keyRE.MatchString(k) || !valRE.MatchString(v) {
			return fmt.Errorf("label %q=%q", k, v)
		}
	}
	return nil
}

// lastSegment returns a resource reference's last path element.
func lastSegment(ref string) string {
	return ref[strings.LastIndex(ref, "/")+1:]
}

func (s *Server) instanceInsert(w http.ResponseWriter, r *http.Request, c *Call) {
	project, zone := r.PathValue("project"), r.PathValue("zone")
	var req compute.Instance
	if !s.decode(w, r, &req) {
		return
	}
	key := project + "/" + zone + "/" + req.Name
	if s.repeated(w, r) {
		return
	}
	var problems []string
	if !nameRE.MatchString(req.Name) {
		problems = append(problems, fmt.Sprintf("name %q", req.Name))
	}
	if !regexp.MustCompile(`^(.*/)?zones/` + regexp.QuoteMeta(zone) + `/machineTypes/[a-z0-9-]+$`).MatchString(req.MachineType) {
		problems = append(problems, fmt.Sprintf("machineType %q is not a machine type of zone %s", req.MachineType, zone))
	}
	if len(req.Disks) != 1 || !req.Disks[0].Boot || req.Disks[0].InitializeParams == nil {
		problems = append(problems, "want one boot disk made from an image")
	} else if ip := req.Disks[0].InitializeParams; ip.SourceImage != "" {
		m := regexp.MustCompile(`^(?:.*/)?projects/([^/]+)/global/images/([^/]+)$`).FindStringSubmatch(ip.SourceImage)
		if m == nil {
			problems = append(problems, fmt.Sprintf("sourceImage %q", ip.SourceImage))
		} else if im := s.images[m[1]+"/"+m[2]]; im == nil || im.Status != "READY" {
			problems = append(problems, fmt.Sprintf("sourceImage %q is not a ready image", ip.SourceImage))
		}
	}
	if len(req.NetworkInterfaces) != 1 {
		problems = append(problems, fmt.Sprintf("%d network interfaces", len(req.NetworkInterfaces)))
	}
	if err := checkLabels(req.Labels); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		apiError(w, http.StatusBadRequest, "invalid", s.violate("instances.insert: %s", strings.Join(problems, "; ")))
		return
	}
	if s.instances[key] != nil {
		apiError(w, http.StatusConflict, "alreadyExists", fmt.Sprintf("The resource 'projects/%s/zones/%s/instances/%s' already exists", project, zone, req.Name))
		return
	}
	in := &Instance{Project: project, Zone: zone, Request: req, Status: "PROVISIONING"}
	s.instances[key] = in
	s.startOp(w, r, "insert", "projects/"+project+"/zones/"+zone+"/instances/"+req.Name, func() *compute.OperationError {
		in.Status = "RUNNING"
		return nil
	})
}

func (s *Server) instance(w http.ResponseWriter, r *http.Request) *Instance {
	project, zone, name := r.PathValue("project"), r.PathValue("zone"), r.PathValue("instance")
	in := s.instances[project+"/"+zone+"/"+name]
	if in == nil {
		apiError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The resource 'projects/%s/zones/%s/instances/%s' was not found", project, zone, name))
	}
	return in
}

func (s *Server) instanceGet(w http.ResponseWriter, r *http.Request, c *Call) {
	in := s.instance(w, r)
	if in == nil {
		return
	}
	out := in.Request
	out.Status = in.Status
	var nics []*compute.NetworkInterface
	for _, n := range in.Request.NetworkInterfaces {
		nc := *n
		nc.NetworkIP = "10.128.0.2"
		var acs []*compute.AccessConfig
		for _, a := range n.AccessConfigs {
			ac := *a
			ac.NatIP = "203.0.113.7"
			acs = append(acs, &ac)
		}
		nc.AccessConfigs = acs
		nics = append(nics, &nc)
	}
	out.NetworkInterfaces = nics
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) instanceDelete(w http.ResponseWriter, r *http.Request, c *Call) {
	in := s.instance(w, r)
	if in == nil {
		return
	}
	key := in.Project + "/" + in.Zone + "/" + in.Request.Name
	in.Status = "STOPPING"
	s.startOp(w, r, "delete", "projects/"+key, func() *compute.OperationError {
		delete(s.instances, key)
		return nil
	})
}

// serialPort answers getSerialPortOutput as Compute Engine does: the bytes
// from start (the oldest retained when start is older), and where the next
// ones will be.
func (s *Server) serialPort(w http.ResponseWriter, r *http.Request, c *Call) {
	in := s.instance(w, r)
	if in == nil {
		return
	}
	if p := r.URL.Query().Get("port"); p != "" && p != "1" {
		apiError(w, http.StatusBadRequest, "invalid", s.violate("getSerialPortOutput: port %s (the console is port 1)", p))
		return
	}
	if in.Status != "RUNNING" {
		apiError(w, http.StatusBadRequest, "resourceNotReady", fmt.Sprintf("The resource '%s' is not ready", in.Request.Name))
		return
	}
	in.serialCalls++
	if s.Console != nil {
		text, status := s.Console(in.Request.Name, in.serialCalls)
		if len(text) < len(in.console) {
			s.violate("gcefake: Console hook shortened the output of %s", in.Request.Name)
		} else {
			in.console = text
		}
		if status != "" {
			defer func() { in.Status = status }()
		}
	}
	retain := s.Retain
	if retain == 0 {
		retain = 1 << 20
	}
	total := int64(len(in.console))
	start, _ := strconv.ParseInt(r.URL.Query().Get("start"), 10, 64)
	if start < 0 {
		start = total + start
	}
	start = min(max(start, total-int64(retain), 0), total)
	writeJSON(w, http.StatusOK, compute.SerialPortOutput{Kind: "compute#serialPortOutput",
		Contents: in.console[start:], Start: start, Next: total})
}
