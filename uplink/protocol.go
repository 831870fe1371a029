package uplink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/depotd/depotd/edge"
)

// ProtocolVersion is the "v" of every payload on the wire (PROTOCOL.md).
const ProtocolVersion = 1

// Topic suffixes below the depot's prefix.
const (
	TopicTx              = "tx"
	TopicAck             = "ack"
	TopicStatus          = "status"
	TopicMasterItems     = "master/items"
	TopicMasterLocations = "master/locations"
	TopicMasterOperators = "master/operators"
	TopicMasterDocuments = "master/documents"
	TopicStock           = "stock"
	TopicCmd             = "cmd"
	TopicRequest         = "request"
)

// downlinkFilters are subscribed (QoS 1) on every connect. The master data kinds share
// one filter: on NATS every QoS 1 subscription of a persistent session is a replicated
// JetStream consumer, the cluster's main cost per depot (PROTOCOL.md "Brokers"), so four
// filters instead of eight halve it. A master kind this version does not know is refused
// by HandleDownlink like any unknown topic.
var downlinkFilters = []string{TopicAck, TopicMaster, TopicStock, TopicCmd}

// TopicMaster is the filter of every master data kind.
const TopicMaster = "master/+"

// Errors of downlink validation; every refused downlink message wraps one of them.
var (
	// ErrBadPayload: the payload is not the JSON object the topic expects.
	ErrBadPayload = errors.New("malformed payload")
	// ErrBadVersion: the payload's "v" is not ProtocolVersion.
	ErrBadVersion = errors.New("unsupported protocol version")
	// ErrInvalid: the payload parses but breaks a rule of PROTOCOL.md.
	ErrInvalid = errors.New("invalid message")
)

// Status is the retained payload of {prefix}status. The Last Will uses the same topic
// with only V, Depot, Online (false), Session and At (the connect time).
type Status struct {
	V              int      `json:"v"`
	Depot          string   `json:"depot"`
	Online         bool     `json:"online"`
	Session        uint64   `json:"session"`
	Backlog        *uint64  `json:"backlog,omitempty"`
	OldestPendingS *float64 `json:"oldest_pending_s,omitempty"`
	LastSeq        *uint64  `json:"last_seq,omitempty"`
	AckedSeq       *uint64  `json:"acked_seq,omitempty"`
	DiskUsedPct    *float64 `json:"disk_used_pct,omitempty"`
	// ERPLagS, OpenExceptions, OpenRejections and StatusIntervalS came after the first
	// release: a status without them is still valid, a consumer shows them as unknown.
	ERPLagS         *float64 `json:"erp_lag_s,omitempty"`
	OpenExceptions  *int     `json:"open_exceptions,omitempty"`
	OpenRejections  *int     `json:"open_rejections,omitempty"`
	StatusIntervalS *float64 `json:"status_interval_s,omitempty"`
	// Sync came later still (PROTOCOL.md "sync"): left out by a depot before it, or when
	// its figures could not be read.
	Sync    *SyncHealth    `json:"sync,omitempty"`
	Devices []DeviceStatus `json:"devices,omitempty"`
	Version string         `json:"version,omitempty"`
	At      string         `json:"at"`
}

// SyncHealth is the status message's summary of the depot's sync health over the last
// WindowD days (PROTOCOL.md "sync"; package edge/synchealth computes it).
type SyncHealth struct {
	WindowD int `json:"window_d"`
	// Classes by item class: "A", "B", "C" (the count list's ABC split) and "all".
	Classes map[string]SyncClass `json:"classes"`
	// Exceptions by kind, for the kinds with an open exception.
	Exceptions map[string]SyncExceptions `json:"exceptions,omitempty"`
}

// SyncClass is one item class's figures in SyncHealth.
type SyncClass struct {
	LatencyP50S            float64 `json:"latency_p50_s"`
	LatencyP95S            float64 `json:"latency_p95_s"`
	AdjustmentsPerItemWeek float64 `json:"adjustments_per_item_week"`
	Counts                 int     `json:"counts"`
	DiscrepancyRate        float64 `json:"discrepancy_rate"`
}

// SyncExceptions is one exception kind's figures in SyncHealth.
type SyncExceptions struct {
	Open        int     `json:"open"`
	OldestOpenS float64 `json:"oldest_open_s"`
}

// DeviceStatus is one device in the status message.
type DeviceStatus struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// Command is a {prefix}cmd payload.
type Command struct {
	V       int    `json:"v"`
	Cmd     string `json:"cmd"`
	FromSeq uint64 `json:"from_seq,omitempty"`
}

// Request is a {prefix}request payload: the depot asks the ERP for something.
type Request struct {
	V       int    `json:"v"`
	Request string `json:"request"`
	At      string `json:"at,omitempty"`
}

// RequestSnapshot is the request for a stock snapshot (PROTOCOL.md).
const RequestSnapshot = "snapshot"

// ParseRequest decodes and validates a request payload: v=1 and a known request.
func ParseRequest(payload []byte) (Request, error) {
	if err := checkVersion(payload); err != nil {
		return Request{}, err
	}
	var r Request
	if err := json.Unmarshal(payload, &r); err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	if r.Request != RequestSnapshot {
		return Request{}, fmt.Errorf("%w: unknown request %q", ErrInvalid, r.Request)
	}
	return r, nil
}

type versioned struct {
	V *int `json:"v"`
}

// checkVersion decodes "v" first so a future version is refused as such rather than as a
// shape mismatch.
func checkVersion(payload []byte) error {
	var v versioned
	if err := json.Unmarshal(payload, &v); err != nil {
		return fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	if v.V == nil {
		return fmt.Errorf("%w: missing \"v\"", ErrBadVersion)
	}
	if *v.V != ProtocolVersion {
		return fmt.Errorf("%w: v=%d, want %d", ErrBadVersion, *v.V, ProtocolVersion)
	}
	return nil
}

type ackWire struct {
	V        int     `json:"v"`
	UptoSeq  *uint64 `json:"upto_seq"`
	Rejected []struct {
		Seq     *uint64 `json:"seq"`
		Code    string  `json:"code"`
		Message string  `json:"message"`
	} `json:"rejected"`
}

// ParseAck decodes and validates an ack payload: v=1, upto_seq ≥ 1, every rejected seq in
// 1..upto_seq with a code, no seq rejected twice. Whether upto_seq is beyond the journal's
// last seq is the journal's check.
func ParseAck(payload []byte) (edge.Ack, error) {
	if err := checkVersion(payload); err != nil {
		return edge.Ack{}, err
	}
	var w ackWire
	if err := json.Unmarshal(payload, &w); err != nil {
		return edge.Ack{}, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	if w.UptoSeq == nil {
		return edge.Ack{}, fmt.Errorf("%w: missing upto_seq", ErrInvalid)
	}
	if *w.UptoSeq == 0 {
		return edge.Ack{}, fmt.Errorf("%w: upto_seq must be ≥ 1", ErrInvalid)
	}
	a := edge.Ack{UptoSeq: *w.UptoSeq}
	seen := make(map[uint64]bool, len(w.Rejected))
	for i, r := range w.Rejected {
		switch {
		case r.Seq == nil || *r.Seq == 0:
			return edge.Ack{}, fmt.Errorf("%w: rejected[%d]: seq missing or 0", ErrInvalid, i)
		case *r.Seq > a.UptoSeq:
			return edge.Ack{}, fmt.Errorf("%w: rejected[%d]: seq %d > upto_seq %d", ErrInvalid, i, *r.Seq, a.UptoSeq)
		case r.Code == "":
			return edge.Ack{}, fmt.Errorf("%w: rejected[%d]: code missing", ErrInvalid, i)
		case seen[*r.Seq]:
			return edge.Ack{}, fmt.Errorf("%w: rejected[%d]: seq %d listed twice", ErrInvalid, i, *r.Seq)
		}
		seen[*r.Seq] = true
		a.Rejected = append(a.Rejected, edge.Rejection{Seq: *r.Seq, Code: r.Code, Message: r.Message})
	}
	return a, nil
}

// ParseCommand decodes and validates a cmd payload.
func ParseCommand(payload []byte) (Command, error) {
	if err := checkVersion(payload); err != nil {
		return Command{}, err
	}
	var c Command
	if err := json.Unmarshal(payload, &c); err != nil {
		return Command{}, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	switch c.Cmd {
	case "status":
	case "resend":
		if c.FromSeq == 0 {
			return Command{}, fmt.Errorf("%w: resend needs from_seq ≥ 1", ErrInvalid)
		}
	default:
		return Command{}, fmt.Errorf("%w: unknown cmd %q", ErrInvalid, c.Cmd)
	}
	return c, nil
}

// ParseStock decodes and validates a stock snapshot envelope; the rows are edge's to
// validate.
func ParseStock(payload []byte) (edge.StockSnapshot, error) {
	if err := checkVersion(payload); err != nil {
		return edge.StockSnapshot{}, err
	}
	var s edge.StockSnapshot
	if err := json.Unmarshal(payload, &s); err != nil {
		return edge.StockSnapshot{}, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	return s, nil
}

// ParseMaster checks the envelope of a master-data snapshot (a JSON object with v=1);
// the content is validated and stored by the journal.
func ParseMaster(payload []byte) error {
	if len(bytes.TrimSpace(payload)) == 0 {
		return fmt.Errorf("%w: empty payload (a cleared retained message)", ErrBadPayload)
	}
	return checkVersion(payload)
}

// Tx builds the uplink payload for one transaction: the journal's JSON object with v and
// depot added (and replay when it is a re-send), and seq guaranteed to be the journal's seq.
// Keys of the journal's JSON that collide with these envelope keys are replaced, never
// duplicated.
func Tx(dst []byte, depot string, seq uint64, raw []byte, replay bool) ([]byte, error) {
	body := bytes.TrimSpace(raw)
	if len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' {
		return dst, fmt.Errorf("%w: journal record %d is not a JSON object", ErrBadPayload, seq)
	}
	dst = append(dst, `{"v":1,"depot":`...)
	dst = appendJSONString(dst, depot)
	if replay {
		dst = append(dst, `,"replay":true`...)
	}
	// Fast path: edge stores {"id":"...","seq":N,...}; when no envelope key appears anywhere
	// in it, the record is spliced in as it is.
	if hasLeadingSeq(body, seq) && !bytes.Contains(body, []byte(`"v":`)) &&
		!bytes.Contains(body, []byte(`"depot":`)) && !bytes.Contains(body, []byte(`"replay":`)) {
		dst = append(dst, ',')
		return append(dst, body[1:]...), nil
	}
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	return appendWithout(dst, body)
}

// hasLeadingSeq reports whether body starts with {"id":"<string>","seq":<seq>, as edge
// marshals a Transaction. Inside a JSON string a quote is always escaped, so the first
// unescaped quote after the id's opening one ends it.
func hasLeadingSeq(body []byte, seq uint64) bool {
	rest, ok := bytes.CutPrefix(body, []byte(`{"id":"`))
	if !ok {
		return false
	}
	i := 0
	for ; i < len(rest); i++ {
		if rest[i] == '\\' {
			i++
			continue
		}
		if rest[i] == '"' {
			break
		}
	}
	if i >= len(rest) {
		return false
	}
	rest, ok = bytes.CutPrefix(rest[i+1:], []byte(`,"seq":`))
	if !ok {
		return false
	}
	var want [24]byte
	n := strconv.AppendUint(want[:0], seq, 10)
	rest, ok = bytes.CutPrefix(rest, n)
	return ok && len(rest) > 0 && (rest[0] == ',' || rest[0] == '}')
}

// appendWithout is the slow path of Tx: it copies the journal object member by member,
// leaving out the envelope keys. Member order is kept.
func appendWithout(dst, body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return dst, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return dst, fmt.Errorf("%w: %v", ErrBadPayload, err)
		}
		key, _ := t.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return dst, fmt.Errorf("%w: %v", ErrBadPayload, err)
		}
		switch key {
		case "v", "depot", "seq", "replay":
			continue
		}
		dst = append(dst, ',')
		dst = appendJSONString(dst, key)
		dst = append(dst, ':')
		dst = append(dst, val...)
	}
	return append(dst, '}'), nil
}

func rfc3339(t time.Time) string { return t.Format(time.RFC3339Nano) }

// appendJSONString appends s as a JSON string (strconv.Quote is Go syntax, not JSON).
func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // marshalling a string cannot fail
	return append(dst, b...)
}
