package gcefake_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"hash/crc32"
	"net/http"
	"os"
	"strings"
	"testing"

	compute "google.golang.org/api/compute/v1"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"

	"github.com/rumptools/rumptools/pkg/gcefake"
	"github.com/rumptools/rumptools/pkg/gcsupload"
)

func services(t *testing.T, srv *gcefake.Server) (*http.Client, *compute.Service) {
	t.Helper()
	srv.Env(t)
	ctx := context.Background()
	hc, _, err := htransport.NewClient(ctx, option.WithScopes(gcefake.Scope))
	if err != nil {
		t.Fatal(err)
	}
	c, err := compute.NewService(ctx, option.WithHTTPClient(hc), option.WithEndpoint(srv.ComputeEndpoint()))
	if err != nil {
		t.Fatal(err)
	}
	return hc, c
}

func TestAuthentication(t *testing.T) {
	srv := gcefake.New(t)
	resp, err := http.Get(srv.ComputeEndpoint() + "projects/p/global/images/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(srv.Violations()) != 1 {
		t.Errorf("a request without a token: %s, violations %q", resp.Status, srv.Violations())
	}
	// A key that is not the fake's.
	other := gcefake.New(t)
	other.Env(t)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", other.CredentialsFile(t))
	data := strings.Replace(readFile(t, other.CredentialsFile(t)), other.URL, srv.URL, 1)
	hc, _, err := htransport.NewClient(context.Background(), option.WithScopes(gcefake.Scope),
		option.WithAuthCredentialsJSON(option.ServiceAccount, []byte(data)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = hc.Get(srv.ComputeEndpoint() + "projects/p/global/images/x")
	if err == nil {
		resp.Body.Close()
		t.Errorf("a token for a foreign key: %s", resp.Status)
	}
	if v := srv.Violations(); len(v) != 2 || !strings.Contains(v[1], "JWT signature does not verify") {
		t.Errorf("violations %q", v)
	}
}

func TestImageFromBadArchive(t *testing.T) {
	srv := gcefake.New(t)
	hc, c := services(t, srv)
	b := []byte("not an archive")
	sum := md5.Sum(b)
	_, err := gcsupload.Upload(context.Background(), bytes.NewReader(b), gcsupload.Object{Bucket: "b", Name: "x.tar.gz", Size: int64(len(b)), MD5: sum[:], CRC32C: crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))},
		gcsupload.Options{Client: hc, BaseURL: srv.StorageEndpoint()})
	if err != nil {
		t.Fatal(err)
	}
	op, err := c.Images.Insert("p", &compute.Image{Name: "x", RawDisk: &compute.ImageRawDisk{Source: "https://storage.googleapis.com/b/x.tar.gz"}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	op, err = c.GlobalOperations.Wait("p", op.Name).Do()
	if err != nil {
		t.Fatal(err)
	}
	if op.Status != "DONE" || op.Error == nil || !strings.Contains(op.Error.Errors[0].Message, "not a gzip file") {
		t.Errorf("operation %+v", op)
	}
	if im, err := c.Images.Get("p", "x").Do(); err != nil || im.Status != "FAILED" {
		t.Errorf("image %+v, %v", im, err)
	}
}

func TestSerialPortWindow(t *testing.T) {
	srv := gcefake.New(t)
	_, c := services(t, srv)
	srv.AddImage("p", "img")
	srv.Retain = 10
	srv.Console = func(string, int) (string, string) { return "0123456789abcdefghij", "" }
	op, err := c.Instances.Insert("p", "z", &compute.Instance{Name: "vm", MachineType: "zones/z/machineTypes/e2-small",
		Disks:             []*compute.AttachedDisk{{Boot: true, InitializeParams: &compute.AttachedDiskInitializeParams{SourceImage: "projects/p/global/images/img"}}},
		NetworkInterfaces: []*compute.NetworkInterface{{Network: "global/networks/default"}}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ZoneOperations.Wait("p", "z", op.Name).Do(); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		start      int64
		want       string
		start2, nx int64
	}{{0, "abcdefghij", 10, 20}, {15, "fghij", 15, 20}, {-3, "hij", 17, 20}, {25, "", 20, 20}} {
		out, err := c.Instances.GetSerialPortOutput("p", "z", "vm").Port(1).Start(q.start).Do()
		if err != nil || out.Contents != q.want || out.Start != q.start2 || out.Next != q.nx {
			t.Errorf("start %d: %+v %v", q.start, out, err)
		}
	}
	if v := srv.Violations(); len(v) > 0 {
		t.Errorf("violations %q", v)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
