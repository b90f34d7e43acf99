package awsfake

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

const ec2NS = "http://ec2.amazonaws.com/doc/2016-11-15/"

func (s *Server) serveEC2(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		s.violate("ec2: unexpected %s %s", r.Method, r.URL.Path)
		s.fail(w, "ec2", Fault{http.StatusBadRequest, "InvalidAction", r.Method + " " + r.URL.Path})
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		s.violate("ec2: Content-Type %q", ct)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		s.violate("ec2: body: %v", err)
		s.fail(w, "ec2", Fault{http.StatusBadRequest, "MalformedQueryString", err.Error()})
		return
	}
	c := Call{Service: "ec2", Op: form.Get("Action"), Attempt: attempt(r), Params: url.Values{}, Body: int64(len(body))}
	if v := form.Get("Version"); v != "2016-11-15" {
		s.violate("ec2 %s: Version %q", c.Op, v)
	}
	for k, v := range form {
		if k != "Action" && k != "Version" {
			c.Params[k] = v
		}
	}
	if f := s.record(c); f != nil {
		s.fail(w, "ec2", *f)
		return
	}
	var out string
	var f *Fault
	switch c.Op {
	case "DescribeSnapshots":
		out, f = s.describeSnapshots(c.Params)
	case "RegisterImage":
		out, f = s.registerImage(c.Params)
	case "DescribeImages":
		out, f = s.describeImages(c.Params)
	case "RunInstances":
		out, f = s.runInstances(c.Params)
	case "DescribeInstances":
		out, f = s.describeInstances(c.Params)
	case "GetConsoleOutput":
		out, f = s.consoleOutput(c.Params)
	case "TerminateInstances":
		out, f = s.terminateInstances(c.Params)
	default:
		f = &Fault{http.StatusBadRequest, "InvalidAction", "awsfake does not implement " + c.Op}
	}
	if f != nil {
		if f.Status == http.StatusBadRequest && !strings.HasPrefix(f.Code, "Invalid") {
			f.Code = "InvalidParameterValue"
		}
		s.violate("%s: %s", c.Op, f.Message)
		s.fail(w, "ec2", *f)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<%sResponse xmlns="%s"><requestId>%s</requestId>%s</%sResponse>`, c.Op, ec2NS, s.nextID("req"), out, c.Op)
}

// list returns the values of a query-API list parameter (Name.1, Name.2, ...).
func list(p url.Values, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := p[fmt.Sprintf("%s.%d", name, i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

func (s *Server) describeSnapshots(p url.Values) (string, *Fault) {
	ids := list(p, "SnapshotId")
	if len(ids) == 0 {
		return "", invalid("DescribeSnapshots without SnapshotId")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	b.WriteString("<snapshotSet>")
	for _, id := range ids {
		sn := s.snapshots[id]
		if sn == nil {
			return "", &Fault{http.StatusBadRequest, "InvalidSnapshot.NotFound", "The snapshot '" + id + "' does not exist."}
		}
		status, progress := sn.Status, "0%"
		if status == "completed" {
			if sn.polls < s.PendingPolls {
				status, progress = "pending", "50%"
			} else {
				progress = "100%"
			}
		}
		sn.polls++
		fmt.Fprintf(&b, `<item><snapshotId>%s</snapshotId><volumeId>vol-ffffffff</volumeId><status>%s</status>`+
			`<startTime>2023-11-14T22:13:20.000Z</startTime><progress>%s</progress><ownerId>123456789012</ownerId>`+
			`<volumeSize>%d</volumeSize><description>%s</description><encrypted>false</encrypted></item>`,
			id, status, progress, sn.VolumeSize, xmlText(sn.Description))
	}
	b.WriteString("</snapshotSet>")
	return b.String(), nil
}

func (s *Server) registerImage(p url.Values) (string, *Fault) {
	name := p.Get("Name")
	if len(name) < 3 || len(name) > 128 {
		return "", invalid("image name %q must have 3 to 128 characters", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("()[] ./-'@_", r)) {
			return "", invalid("image name %q: character %q not allowed", name, r)
		}
	}
	snap := p.Get("BlockDeviceMapping.1.Ebs.SnapshotId")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, im := range s.images {
		if im.Params.Get("Name") == name {
			return "", &Fault{http.StatusBadRequest, "InvalidAMIName.Duplicate", "AMI name " + name + " is already in use"}
		}
	}
	sn := s.snapshots[snap]
	if sn == nil {
		return "", &Fault{http.StatusBadRequest, "InvalidSnapshot.NotFound", "The snapshot '" + snap + "' does not exist."}
	}
	if sn.Status != "completed" {
		return "", &Fault{http.StatusBadRequest, "IncorrectState", "snapshot " + snap + " is " + sn.Status}
	}
	if p.Get("RootDeviceName") != p.Get("BlockDeviceMapping.1.DeviceName") {
		return "", invalid("root device %q is not the mapped device %q", p.Get("RootDeviceName"), p.Get("BlockDeviceMapping.1.DeviceName"))
	}
	if p.Get("VirtualizationType") == "paravirtual" && p.Get("KernelId") == "" {
		return "", invalid("a paravirtual image needs a KernelId")
	}
	s.seq++
	im := &Image{ID: fmt.Sprintf("ami-%017x", 0xabc00+s.seq), Params: p}
	s.images[im.ID] = im
	return "<imageId>" + im.ID + "</imageId>", nil
}

func (s *Server) describeImages(p url.Values) (string, *Fault) {
	ids := list(p, "ImageId")
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	b.WriteString("<imagesSet>")
	for _, id := range ids {
		im := s.images[id]
		if im == nil {
			return "", &Fault{http.StatusBadRequest, "InvalidAMIID.NotFound", "The image id '[" + id + "]' does not exist"}
		}
		fmt.Fprintf(&b, `<item><imageId>%s</imageId><imageState>available</imageState><name>%s</name>`+
			`<architecture>%s</architecture><virtualizationType>%s</virtualizationType></item>`,
			id, xmlText(im.Params.Get("Name")), xmlText(im.Params.Get("Architecture")), xmlText(im.Params.Get("VirtualizationType")))
	}
	b.WriteString("</imagesSet>")
	return b.String(), nil
}

func instanceXML(in *Instance) string {
	code := map[string]int{"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopped": 80}[in.State]
	return fmt.Sprintf(`<item><instanceId>%s</instanceId><imageId>%s</imageId><instanceState><code>%d</code><name>%s</name></instanceState>`+
		`<instanceType>%s</instanceType></item>`, in.ID, in.ImageID, code, in.State, xmlText(in.Params.Get("InstanceType")))
}

func (s *Server) runInstances(p url.Values) (string, *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	img := p.Get("ImageId")
	if s.images[img] == nil {
		return "", &Fault{http.StatusBadRequest, "InvalidAMIID.NotFound", "The image id '[" + img + "]' does not exist"}
	}
	if p.Get("MinCount") != "1" || p.Get("MaxCount") != "1" {
		return "", invalid("MinCount %q MaxCount %q", p.Get("MinCount"), p.Get("MaxCount"))
	}
	s.seq++
	in := &Instance{ID: fmt.Sprintf("i-%017x", 0xdef00+s.seq), ImageID: img, Params: p, State: "pending"}
	s.instances[in.ID] = in
	return `<reservationId>r-0123456789abcdef0</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet>` +
		instanceXML(in) + `</instancesSet>`, nil
}

func (s *Server) lookupInstances(p url.Values) ([]*Instance, *Fault) {
	var out []*Instance
	for _, id := range list(p, "InstanceId") {
		in := s.instances[id]
		if in == nil {
			return nil, &Fault{http.StatusBadRequest, "InvalidInstanceID.NotFound", "The instance ID '" + id + "' does not exist"}
		}
		out = append(out, in)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out, nil
}

func (s *Server) describeInstances(p url.Values) (string, *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ins, f := s.lookupInstances(p)
	if f != nil {
		return "", f
	}
	var b strings.Builder
	b.WriteString("<reservationSet><item><reservationId>r-0123456789abcdef0</reservationId><ownerId>123456789012</ownerId><instancesSet>")
	for _, in := range ins {
		b.WriteString(instanceXML(in))
		// One look at a pending instance, then it runs.
		if in.State == "pending" {
			in.State = "running"
		}
	}
	b.WriteString("</instancesSet></item></reservationSet>")
	return b.String(), nil
}

func (s *Server) consoleOutput(p url.Values) (string, *Fault) {
	s.mu.Lock()
	id := p.Get("InstanceId")
	in := s.instances[id]
	if in == nil {
		s.mu.Unlock()
		return "", &Fault{http.StatusBadRequest, "InvalidInstanceID.NotFound", "The instance ID '" + id + "' does not exist"}
	}
	in.consoleN++
	n := in.consoleN
	console := s.Console
	s.mu.Unlock()
	text := ""
	if console != nil {
		text = console(id, n)
	}
	out := "<instanceId>" + id + "</instanceId><timestamp>2023-11-14T22:13:20.000Z</timestamp>"
	if text != "" {
		out += "<output>" + base64.StdEncoding.EncodeToString([]byte(text)) + "</output>"
	}
	return out, nil
}

func (s *Server) terminateInstances(p url.Values) (string, *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ins, f := s.lookupInstances(p)
	if f != nil {
		return "", f
	}
	var b strings.Builder
	b.WriteString("<instancesSet>")
	for _, in := range ins {
		prev := in.State
		in.State = "shutting-down"
		in.terminated = true
		fmt.Fprintf(&b, `<item><instanceId>%s</instanceId><currentState><code>32</code><name>shutting-down</name></currentState>`+
			`<previousState><code>16</code><name>%s</name></previousState></item>`, in.ID, prev)
	}
	b.WriteString("</instancesSet>")
	return b.String(), nil
}

// Terminated reports whether TerminateInstances was called for the instance.
func (in *Instance) Terminated() bool { return in.terminated }

// SetInstanceState changes an instance's state, as if it had stopped or
// terminated by itself.
func (s *Server) SetInstanceState(id, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in := s.instances[id]; in != nil {
		in.State = state
	}
}
