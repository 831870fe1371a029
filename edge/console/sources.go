package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/depotd/depotd/edge"
)

// The console shows what other parts of depotd produce through the small interfaces below,
// which it owns: their types satisfy them (or cmd/depotd adapts them), so that nothing
// imports up the chain. A nil source shows as "not configured".

// DemoSwitch cuts and restores the demo's link between the uplink and its broker.
type DemoSwitch interface {
	Down() bool
	SetDown(down bool)
}

// SnapshotAsker asks the ERP for a stock snapshot now (the uplink's P request).
type SnapshotAsker interface {
	AskSnapshot(ctx context.Context) error
}

// UplinkState reports the MQTT uplink's connection.
type UplinkState interface {
	UplinkStatus() UplinkView
}

// UplinkView is the uplink's state as the console shows it.
type UplinkView struct {
	Online    bool      `json:"online"`
	Since     time.Time `json:"since,omitzero"` // of the last online/offline change
	Broker    string    `json:"broker,omitempty"`
	Session   uint64    `json:"session,omitempty"`
	LastAckAt time.Time `json:"last_ack_at,omitzero"` // the last ERP ack that moved the watermark
	LastError string    `json:"last_error,omitempty"`
}

// DeviceSource lists the configured devices (scanners, scales) and their health.
type DeviceSource interface {
	Devices() []DeviceView
}

// DeviceView is one device's state and its latest readings, for diagnostics. Raw bytes
// are hex so that control characters cannot reach the page unescaped or unseen.
type DeviceView struct {
	Name     string    `json:"name"`
	Kind     string    `json:"kind"`
	Port     string    `json:"port,omitempty"`
	State    string    `json:"state"` // connected, disconnected, failed, ...
	Reason   string    `json:"reason,omitempty"`
	Since    time.Time `json:"since,omitzero"`
	Failures int       `json:"failures"`
	// FrameErrors counts what the device sent and its driver refused (bad scans,
	// corrupted scale frames, line noise) since depotd started.
	FrameErrors int       `json:"frame_errors"`
	LastAt      time.Time `json:"last_at,omitzero"`
	LastRawHex  string    `json:"last_raw_hex,omitempty"`
	// LastReading is the latest decoded scan or weight as text ("0104012345678901 (]C1)",
	// "12.345 kg stable").
	LastReading string `json:"last_reading,omitempty"`
	LastError   string `json:"last_error,omitempty"` // the latest refused read
}

// StationSource lists scanner stations and tells when one changes.
type StationSource interface {
	Stations() []StationView
	// Subscribe returns a channel that receives a station's new view each time it changes
	// (a scan, a login, a validated document). The source closes the channel when ctx is
	// done; a subscriber that falls behind may miss intermediate views, never the latest.
	Subscribe(ctx context.Context) <-chan StationView
}

// ScanCounter is optionally implemented by a StationSource: scans seen since start, by
// result (accepted, prompt, refused), for /metrics.
type ScanCounter interface {
	ScanCounts() map[string]uint64
}

// StationView is one station: who is logged in, the open document, the latest scan.
type StationView struct {
	Name     string        `json:"name"`
	Mode     string        `json:"mode"`
	Operator string        `json:"operator,omitempty"`
	Document *DocumentView `json:"document,omitempty"`
	Last     *ScanView     `json:"last,omitempty"`
	// Next says what to scan next ("scan the location", "scan an item or CMD:VALIDATE").
	Next string `json:"next,omitempty"`
}

// DocumentView is the document a station is building.
type DocumentView struct {
	Type  string         `json:"type"`
	Ref   string         `json:"ref,omitempty"`
	From  string         `json:"from,omitempty"`
	To    string         `json:"to,omitempty"`
	Lines []DocLineView  `json:"lines"`
	Extra map[string]any `json:"extra,omitempty"`
	// Partner and Origin describe the ERP document Ref names, when the depot knows it.
	Partner string `json:"partner,omitempty"`
	Origin  string `json:"origin,omitempty"`
}

// Expects says whether any line carries an expected quantity (a receipt against a known
// document): the station screen then shows scanned against expected.
func (d DocumentView) Expects() bool {
	for _, l := range d.Lines {
		if l.Expected != "" || l.Flag != "" {
			return true
		}
	}
	return false
}

// DocLineView is one line of an open document.
type DocLineView struct {
	Item string `json:"item"`
	Qty  string `json:"qty"`
	UoM  string `json:"uom,omitempty"`
	Lot  string `json:"lot,omitempty"`
	// Expected is the quantity the document expects on this line, when it is known; the
	// station screen then shows Qty against it ("5/12").
	Expected string `json:"expected,omitempty"`
	// Flag marks a line the document does not name ("not on WH/IN/00012").
	Flag string `json:"flag,omitempty"`
}

// Progress compares the scanned quantity with the expected one: "short", "complete" or
// "over"; "unexpected" for a line the document does not name; "" when nothing is expected
// or either quantity does not parse.
func (l DocLineView) Progress() string {
	if l.Flag != "" {
		return "unexpected"
	}
	if l.Expected == "" {
		return ""
	}
	q, err1 := edge.ParseQty(l.Qty)
	exp, err2 := edge.ParseQty(l.Expected)
	if err1 != nil || err2 != nil {
		return ""
	}
	switch q.Cmp(exp) {
	case -1:
		return "short"
	case 0:
		return "complete"
	}
	return "over"
}

// ScanView is a station's latest scan and what it did.
type ScanView struct {
	Scan    string    `json:"scan"`
	Result  string    `json:"result"` // accepted, prompt, refused
	Message string    `json:"message,omitempty"`
	At      time.Time `json:"at,omitzero"`
}

// ScanTester decodes a raw scan the way a station would, without committing anything, for
// the "test scan" box. Fields name what was understood (GTIN, lot, expiry, item, ...).
type ScanTester interface {
	TestScan(ctx context.Context, raw string) (TestScanResult, error)
}

// TestScanResult is what a test scan understood.
type TestScanResult struct {
	Summary string      `json:"summary"`
	Fields  []TestField `json:"fields,omitempty"`
}

// TestField is one decoded element.
type TestField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// deviceJSON reads the devices package's JSON (devices.Status.MarshalJSON) into a
// DeviceView without importing it: the names below are that JSON's.
type deviceJSON struct {
	DeviceView
	LastScan *struct {
		Data string `json:"data"`
		AIM  string `json:"aim"`
	} `json:"last_scan"`
	LastBadScan *struct {
		Reason string `json:"reason"`
	} `json:"last_bad_scan"`
	LastFrameError *struct {
		Reason string `json:"reason"`
	} `json:"last_frame_error"`
	LastWeight *struct {
		Value  string `json:"value"`
		Unit   string `json:"unit"`
		Stable bool   `json:"stable"`
	} `json:"last_weight"`
}

// deviceViews returns whether devices are configured, and their views.
func (s *Server) deviceViews() (bool, []DeviceView) {
	if s.opts.DeviceViews != nil {
		return true, s.opts.DeviceViews.Devices()
	}
	if s.opts.Devices == nil {
		return false, nil
	}
	raw, err := json.Marshal(s.opts.Devices())
	if err != nil {
		s.log.Warn("device list", "err", err)
		return true, nil
	}
	var list []deviceJSON
	if err := json.Unmarshal(raw, &list); err != nil {
		s.log.Warn("device list", "err", err)
		return true, nil
	}
	out := make([]DeviceView, 0, len(list))
	for _, d := range list {
		v := d.DeviceView
		if x := d.LastScan; x != nil && v.LastReading == "" {
			v.LastReading = strings.TrimSpace(x.Data + " " + x.AIM)
		}
		if x := d.LastWeight; x != nil && v.LastReading == "" {
			v.LastReading = x.Value + " " + x.Unit
			if x.Stable {
				v.LastReading += " stable"
			}
		}
		if x := d.LastBadScan; x != nil && v.LastError == "" {
			v.LastError = x.Reason
		}
		if x := d.LastFrameError; x != nil && v.LastError == "" {
			v.LastError = x.Reason
		}
		out = append(out, v)
	}
	return true, out
}

// uplinkView reads the uplink's state with any credentials in the broker URL removed:
// no page or API answer may show a password.
func (s *Server) uplinkView() *UplinkView {
	if s.opts.Uplink == nil {
		return nil
	}
	u := s.opts.Uplink.UplinkStatus()
	u.Broker = redactURL(u.Broker)
	u.LastError = redactURLs(u.LastError)
	return &u
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = url.User("redacted")
	return u.String()
}

var urlInText = regexp.MustCompile(`[a-z][a-z0-9+.-]*://[^\s"']+`)

// redactURLs removes credentials from every URL inside an error message.
func redactURLs(s string) string { return urlInText.ReplaceAllStringFunc(s, redactURL) }

// TestScanFunc makes a ScanTester of a function.
type TestScanFunc func(ctx context.Context, raw string) (TestScanResult, error)

// TestScan implements ScanTester.
func (f TestScanFunc) TestScan(ctx context.Context, raw string) (TestScanResult, error) {
	return f(ctx, raw)
}

// FieldsOf lists the non-empty top-level fields of v's JSON object, in their order (nested
// values as compact JSON): a decoder's result shown field by field.
func FieldsOf(v any) []TestField {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var out []TestField
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return out
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return out
		}
		text := string(val)
		var s string
		if json.Unmarshal(val, &s) == nil {
			text = s
		}
		switch text {
		case "", "null", "false", "0", "[]", "{}":
			continue
		}
		out = append(out, TestField{Name: fmt.Sprint(k), Value: text})
	}
	return out
}
