package cli

import (
	"testing"
	"time"
)

func TestSourceDateEpoch(t *testing.T) {
	def := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		env  string
		want time.Time
		err  string
	}{
		{"", def, ""},
		{"0", time.Unix(0, 0).UTC(), ""},
		{"1700000000", time.Unix(1700000000, 0).UTC(), ""},
		{"99", time.Unix(99, 0).UTC(), ""},
		{"100", time.Time{}, `SOURCE_DATE_EPOCH="100" is not a time ext2 can hold (seconds from 0 to 99)`},
		{"-5", time.Time{}, `SOURCE_DATE_EPOCH="-5" is not a time ext2 can hold (seconds from 0 to 99)`},
		{"soon", time.Time{}, `SOURCE_DATE_EPOCH="soon" is not a time ext2 can hold (seconds from 0 to 99)`},
	} {
		t.Setenv("SOURCE_DATE_EPOCH", c.env)
		max := int64(1700000000)
		if c.err != "" || c.env == "99" {
			max = 99
		}
		got, err := SourceDateEpoch(def, max, "ext2")
		if (err == nil) != (c.err == "") || err != nil && err.Error() != c.err || !got.Equal(c.want) {
			t.Errorf("%q: %v, %v", c.env, got, err)
		}
	}
}
