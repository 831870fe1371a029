package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// #19.9: what a newcomer types first gets an answer in its own words: help is not an
// error, a missing flag is named as the flag, and a missing config says how to get one.
func TestCommandsAnswerInTheUsersWords(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "depotd.yaml")
	for _, tc := range []struct {
		args []string
		code int
		want string
		not  string
	}{
		{[]string{"demo", "-h"}, 0, "-listen", ""},
		{[]string{"devices", "probe"}, 2, "--port is required", "device.port"},
		{[]string{"devices", "probe", "--kind", "scale", "--protocol", "mt-sics"}, 1, "--port: required", "scale.port"},
		{[]string{"doctor", "--config", missing}, 1, "install a config at " + missing, "keys named above"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, nil, &stdout, &stderr)
		out := stdout.String() + stderr.String()
		if code != tc.code || !strings.Contains(out, tc.want) || (tc.not != "" && strings.Contains(out, tc.not)) {
			t.Errorf("%v: exit %d, output %q; want exit %d with %q", tc.args, code, out, tc.code, tc.want)
		}
	}
}
