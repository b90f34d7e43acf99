package awsfake_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/rumptools/rumptools/pkg/awsfake"
)

func TestSignedRequestsAccepted(t *testing.T) {
	srv := awsfake.New(t)
	srv.Env(t)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out, err := ebs.NewFromConfig(cfg).StartSnapshot(context.Background(), &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ec2.NewFromConfig(cfg).DescribeSnapshots(context.Background(), &ec2.DescribeSnapshotsInput{SnapshotIds: []string{*out.SnapshotId}})
	if err != nil {
		t.Fatal(err)
	}
	if v := srv.Violations(); len(v) != 0 {
		t.Errorf("violations: %v", v)
	}
	calls := srv.Calls()
	if len(calls) != 2 || calls[0].Service != "ebs" || calls[1].Service != "ec2" || calls[1].Params.Get("SnapshotId.1") != *out.SnapshotId {
		t.Errorf("calls %+v", calls)
	}
}

// The signature check must be able to fail: a wrong secret key, and no
// signature at all, are both refused.
func TestBadSignatureRefused(t *testing.T) {
	srv := awsfake.New(t)
	srv.Env(t)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ec2.NewFromConfig(cfg).DescribeSnapshots(context.Background(), &ec2.DescribeSnapshotsInput{SnapshotIds: []string{"snap-1"}})
	if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("wrong secret: %v", err)
	}
	resp, err := http.Post(srv.URL+"/", "application/x-www-form-urlencoded", strings.NewReader("Action=DescribeSnapshots&Version=2016-11-15"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned request: status %d", resp.StatusCode)
	}
	if v := srv.Violations(); len(v) != 2 || !strings.Contains(v[1], "no Authorization header") {
		t.Errorf("violations %q", v)
	}
	if len(srv.Calls()) != 0 {
		t.Error("an unauthenticated request was handled")
	}
}
