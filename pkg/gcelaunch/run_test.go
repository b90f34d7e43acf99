package gcelaunch

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rumptools/rumptools/pkg/gcefake"
	"github.com/rumptools/rumptools/pkg/gceimage"
)

type memSource []byte

func (m memSource) Size() (int64, error) { return int64(len(m)), nil }
func (m memSource) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(m)
	return int64(n), err
}

// runner returns a job for a small disk and a runner that talks to srv.
func runner(t *testing.T, srv *gcefake.Server) (*Job, *Runner, *Medium) {
	t.Helper()
	srv.Env(t)
	clients, err := NewClients(context.Background(), EndpointsFromEnv())
	if err != nil {
		t.Fatal(err)
	}
	m := &Medium{Disk: &gceimage.Disk{Source: memSource("not really a boot disk, but a disk"), Size: gceimage.GiB}}
	j := job()
	if j.Archive, err = m.Summarize(); err != nil {
		t.Fatal(err)
	}
	var log []string
	r := &Runner{Clients: clients, Poll: time.Millisecond, Log: func(s string) { log = append(log, s) }}
	return j, r, m
}

// TestInterrupt cancels a job while its console is followed: the
// instance is deleted all the same (--rm), and the error says why.
func TestInterrupt(t *testing.T) {
	srv := gcefake.New(t)
	j, r, m := runner(t, srv)
	j.Follow, j.Remove = true, true
	ctx, cancel := context.WithCancel(context.Background())
	srv.Console = func(_ string, n int) (string, string) {
		if n == 2 {
			cancel()
		}
		return "booting\n", ""
	}
	var console strings.Builder
	r.Console = &console
	res, err := r.Run(ctx, j, m.Open)
	if !errors.Is(err, context.Canceled) || res.Instance == "" {
		t.Fatalf("result %+v, error %v", res, err)
	}
	if len(srv.Instances()) != 0 || len(srv.Objects()) != 0 || len(srv.Images()) != 1 {
		t.Errorf("left: instances %v, objects %v, images %v", srv.Instances(), srv.Objects(), srv.Images())
	}
	if console.String() != "booting\n" {
		t.Errorf("console %q", console.String())
	}
	for _, v := range srv.Violations() {
		t.Errorf("violation: %s", v)
	}
}

// TestNoRemoveWithoutRm: without Remove nothing is deleted, even on a
// failure.
func TestNoRemoveWithoutRm(t *testing.T) {
	srv := gcefake.New(t)
	j, r, m := runner(t, srv)
	j.Follow = true
	srv.Console = func(_ string, n int) (string, string) { return "=== bootstrap failed\n", "" }
	res, err := r.Run(context.Background(), j, m.Open)
	if err != nil || res.Outcome == nil || res.Outcome.BootstrapFailed == "" {
		t.Fatalf("result %+v, error %v", res, err)
	}
	if len(srv.Instances()) != 1 || len(srv.Objects()) != 1 || len(srv.Images()) != 1 {
		t.Errorf("left: instances %v, objects %v, images %v", srv.Instances(), srv.Objects(), srv.Images())
	}
}
