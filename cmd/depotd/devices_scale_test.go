package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/devices/sim"
	"github.com/depotd/depotd/devices/sim/simtest"
)

// startProbeSim runs a scale simulator on a real pty for a probe test.
func startProbeSim(t *testing.T, proto string, opts sim.ScaleOptions, load string) *sim.Scale {
	t.Helper()
	sc := simtest.StartScale(t, proto, opts)
	sc.SetLoad(decimal.RequireFromString(load))
	return sc
}

func TestProbeScale(t *testing.T) {
	cases := []struct {
		proto string
		opts  sim.ScaleOptions
		load  string
		extra []string
		want  scaleProbeResult
	}{
		{"mt-sics", sim.ScaleOptions{Unit: "g", Decimals: 2}, "100", nil, scaleProbeResult{"100.00", "g", true, "0.1", false}},
		{"toledo-8217", sim.ScaleOptions{Unit: "kg"}, "1.234", nil, scaleProbeResult{"1.234", "kg", true, "1.234", false}},
		{"toledo-8217", sim.ScaleOptions{Unit: "lb"}, "1.25", []string{"--unit", "lb"}, scaleProbeResult{"1.25", "lb", true, "0.5669904625", false}},
		{"nci-scp01", sim.ScaleOptions{Unit: "lb"}, "1.25", nil, scaleProbeResult{"1.25", "lb", true, "0.5669904625", false}},
		{"toledo-continuous", sim.ScaleOptions{Unit: "kg"}, "1.234", []string{"--baud", "9600", "--data-bits", "7", "--parity", "even", "--stop-bits", "1"}, scaleProbeResult{"1.234", "kg", true, "1.234", false}},
		{"toledo-continuous", sim.ScaleOptions{Unit: "lb", NoChecksum: true}, "12.50", []string{"--checksum", "off", "--stable-frames", "5"}, scaleProbeResult{"12.50", "lb", true, "5.669904625", false}},
	}
	for _, c := range cases {
		t.Run(c.proto+"/"+c.opts.Unit, func(t *testing.T) {
			sc := startProbeSim(t, c.proto, c.opts, c.load)
			var stdout, stderr bytes.Buffer
			args := append([]string{"--kind", "scale", "--protocol", c.proto, "--port", sc.Port().Link(), "--timeout", "10s"}, c.extra...)
			if code := probeScale(context.Background(), args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d, stderr %s", code, stderr.String())
			}
			var got scaleProbeResult
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("%q: %v", stdout.String(), err)
			}
			if got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			if !strings.HasPrefix(stdout.String(), `{"weight":"`+c.want.Weight+`","unit":"`+c.want.Unit+`","stable":true`) {
				t.Errorf("output %q", stdout.String())
			}
		})
	}
}

func TestProbeScaleFailures(t *testing.T) {
	moving := startProbeSim(t, "mt-sics", sim.ScaleOptions{}, "1")
	moving.SetMotion(true)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown protocol", []string{"--protocol", "cas", "--port", "/dev/ttyUSB9"}, 1, "mt-sics, toledo-8217, nci-scp01, toledo-continuous, hid-pos"},
		{"no port", []string{"--protocol", "mt-sics"}, 1, "--port: required"},
		{"missing port", []string{"--protocol", "mt-sics", "--port", filepath.Join(t.TempDir(), "nope")}, 1, "no such file"},
		{"bad parity", []string{"--protocol", "mt-sics", "--port", "/dev/null", "--parity", "mark"}, 1, "--parity"},
		{"never stable", []string{"--protocol", "mt-sics", "--port", moving.Port().Link(), "--timeout", "700ms"}, 1, "no stable weight"},
		{"bad checksum", []string{"--protocol", "toledo-continuous", "--port", "/dev/null", "--checksum", "maybe"}, 1, "--checksum"},
		{"checksum on a demand scale", []string{"--protocol", "mt-sics", "--port", "/dev/null", "--checksum", "on"}, 1, "--checksum"},
		{"bad stable frames", []string{"--protocol", "mt-sics", "--port", "/dev/null", "--stable-frames", "-1"}, 1, "--stable-frames"},
		{"bad flag", []string{"--colour"}, 2, "flag provided but not defined"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		code := probeScale(context.Background(), append([]string{"--kind", "scale"}, c.args...), &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.want) || stdout.Len() != 0 {
			t.Errorf("%s: exit %d stdout %q stderr %q; want exit %d and %q", c.name, code, stdout.String(), stderr.String(), c.code, c.want)
		}
	}
}
