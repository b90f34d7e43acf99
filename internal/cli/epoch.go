package cli

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// SourceDateEpoch reads SOURCE_DATE_EPOCH, the one time stamp that a tool
// writes where its output format needs one (reproducible builds): whole
// seconds since 1970, UTC. Unset or empty, it returns def. A value that is
// not a whole number from 0 to max is an error that names the variable and
// what cannot hold it (holds, e.g. "newc").
func SourceDateEpoch(def time.Time, max int64, holds string) (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > max {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a time %s can hold (seconds from 0 to %d)", s, holds, max)
	}
	return time.Unix(n, 0).UTC(), nil
}
