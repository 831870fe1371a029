// Package erpsim is a small ERP simulator for the uplink protocol (uplink/PROTOCOL.md): it
// subscribes to {prefix}+/tx, applies each depot's transactions strictly in seq order
// (dropping duplicates and anything beyond a gap, as a real consumer must), and publishes
// cumulative acks on {prefix}{depot}/ack. A void (a seq a depot's restore skipped) applies
// nothing and advances the applied seq like any transaction; it is never rejected. It can
// reject chosen transactions and can go silent, like a dead ERP consumer, and publishes
// the open documents it is given (master/documents, retained). It serves
// `depotd demo` and the uplink tests.
//
// Concurrency: Run owns its goroutines and returns after they stop; the accessors are safe
// for concurrent use.
package erpsim

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/depotd/depotd/uplink"
)

// Sim is one simulated ERP consumer. Set the fields before Run.
type Sim struct {
	Broker   string // broker URL, e.g. tcp://127.0.0.1:1883
	Prefix   string // topic prefix above the depot id; default "depots/"
	ClientID string // default "erpsim"
	// AckEvery sends an ack as soon as this many transactions were applied since the last
	// one (default 200); AckInterval flushes a pending ack at least this often (default 10ms).
	AckEvery    int
	AckInterval time.Duration
	// Reject, when set, is asked about each transaction applied in order (voids excepted:
	// they apply nothing, so there is nothing to refuse); ok=true rejects it with code and
	// message (it still counts as processed).
	Reject func(depot string, seq uint64, payload []byte) (code, message string, ok bool)
	// QoS0 subscribes to tx at QoS 0 instead of 1 (as an ERP consumer should). It makes the
	// simulator cheaper for benchmarks that measure the depot side; a message the broker
	// drops is recovered by the depot's go-back-N.
	QoS0 bool
	// Documents are master/documents payloads by depot id, published retained on every
	// connect, as an ERP publishes its open documents (the demo's expected receipt).
	Documents map[string][]byte
	Log       *slog.Logger

	silent atomic.Bool
	mu     sync.Mutex
	depots map[string]*depot
	kick   chan struct{}
}

type depot struct {
	applied    uint64
	stats      Stats
	rejections []rejection
	dirty      bool
	sinceAck   int
}

type rejection struct {
	Seq     uint64 `json:"seq"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Stats counts what the simulator saw for one depot.
type Stats struct {
	Applied    uint64 // watermark: every seq ≤ Applied was processed
	Received   uint64 // tx messages received (all kinds)
	Ignored    uint64 // tx messages dropped unread while silent
	Duplicates uint64 // seq ≤ watermark (redelivery or go-back-N resend)
	Replays    uint64 // messages carrying replay:true
	Gaps       uint64 // seq beyond watermark+1, dropped
	Malformed  uint64
	Rejected   uint64
	Voids      uint64 // voids applied (each advanced the watermark, applying nothing)
	AcksSent   uint64
}

// Run connects with the standard paho reconnect (clean session, resubscribing on every
// connect) and serves until ctx ends.
func Run(ctx context.Context, brokerURL string, log *slog.Logger) error {
	s := &Sim{Broker: brokerURL, Log: log}
	return s.Run(ctx)
}

// SetSilent makes the simulator drop every tx message unprocessed and send no acks (a dead
// ERP consumer), or revives it.
func (s *Sim) SetSilent(v bool) { s.silent.Store(v) }

// Stats returns the counters for a depot.
func (s *Sim) Stats(depotID string) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.depots[depotID]; d != nil {
		st := d.stats
		st.Applied = d.applied
		return st
	}
	return Stats{}
}

func (s *Sim) init() {
	if s.Prefix == "" {
		s.Prefix = "depots/"
	}
	if s.ClientID == "" {
		s.ClientID = "erpsim"
	}
	if s.AckEvery <= 0 {
		s.AckEvery = 200
	}
	if s.AckInterval <= 0 {
		s.AckInterval = 10 * time.Millisecond
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	s.mu.Lock()
	if s.depots == nil {
		s.depots = map[string]*depot{}
	}
	s.mu.Unlock()
	s.kick = make(chan struct{}, 1)
}

func (s *Sim) qos() byte {
	if s.QoS0 {
		return 0
	}
	return 1
}

// Run serves until ctx ends.
func (s *Sim) Run(ctx context.Context) error {
	s.init()
	filter := s.Prefix + "+/tx"
	opts := mqtt.NewClientOptions().
		AddBroker(s.Broker).
		SetClientID(s.ClientID).
		SetCleanSession(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(200 * time.Millisecond).
		SetMaxReconnectInterval(time.Second).
		SetKeepAlive(5 * time.Second).
		SetWriteTimeout(5 * time.Second).
		SetOrderMatters(true).
		SetCustomOpenConnectionFn(uplink.OpenConn).
		SetOnConnectHandler(func(c mqtt.Client) {
			// In its own goroutine: waiting on a token inside the OnConnect callback is fine,
			// paho runs it apart from the router.
			t := c.Subscribe(filter, s.qos(), s.onTx)
			if !t.WaitTimeout(5*time.Second) || t.Error() != nil {
				s.Log.Warn("erpsim subscribe failed", "filter", filter, "err", t.Error())
				return
			}
			s.Log.Info("erpsim subscribed", "filter", filter)
			for depot, payload := range s.Documents {
				topic := s.Prefix + depot + "/" + uplink.TopicMasterDocuments
				if t := c.Publish(topic, 1, true, payload); !t.WaitTimeout(5*time.Second) || t.Error() != nil {
					s.Log.Warn("erpsim documents not published", "topic", topic, "err", t.Error())
				}
			}
		})
	c := mqtt.NewClient(opts)
	ct := c.Connect()
	defer c.Disconnect(100)
	tick := time.NewTicker(s.AckInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			ct.WaitTimeout(0)
			return nil
		case <-tick.C:
		case <-s.kick:
		}
		if !c.IsConnectionOpen() || s.silent.Load() {
			continue
		}
		s.sendAcks(c)
	}
}

func (s *Sim) sendAcks(c mqtt.Client) {
	type pending struct {
		depot string
		body  []byte
		n     int
	}
	var out []pending
	s.mu.Lock()
	for id, d := range s.depots {
		if !d.dirty {
			continue
		}
		body, _ := json.Marshal(struct {
			V        int         `json:"v"`
			UptoSeq  uint64      `json:"upto_seq"`
			Rejected []rejection `json:"rejected,omitempty"`
		}{1, d.applied, d.rejections})
		out = append(out, pending{id, body, len(d.rejections)})
		d.dirty, d.sinceAck = false, 0
	}
	s.mu.Unlock()
	// All published before any PUBACK is awaited: one round trip per round, not one per
	// depot, or a fleet of hundreds would wait for its acks in single file.
	toks := make([]mqtt.Token, len(out))
	for i, p := range out {
		toks[i] = c.Publish(s.Prefix+p.depot+"/ack", 1, false, p.body)
	}
	for i, p := range out {
		t := toks[i]
		ok := t.WaitTimeout(5*time.Second) && t.Error() == nil
		s.mu.Lock()
		d := s.depots[p.depot]
		if ok {
			d.stats.AcksSent++
			// Rejections reported in a delivered ack need not be repeated.
			d.rejections = d.rejections[min(p.n, len(d.rejections)):]
		} else {
			d.dirty = true
		}
		s.mu.Unlock()
	}
}

// voidType is edge.Void: a seq skipped by a restore (uplink/PROTOCOL.md).
const voidType = "void"

type txHead struct {
	V      int    `json:"v"`
	Depot  string `json:"depot"`
	Seq    uint64 `json:"seq"`
	Replay bool   `json:"replay"`
	Type   string `json:"type"`
}

func (s *Sim) onTx(_ mqtt.Client, m mqtt.Message) {
	rest := strings.TrimPrefix(m.Topic(), s.Prefix)
	depotID, _, _ := strings.Cut(rest, "/")
	if s.silent.Load() {
		s.mu.Lock()
		if d := s.depots[depotID]; d != nil {
			d.stats.Ignored++
		}
		s.mu.Unlock()
		return
	}
	var h txHead
	err := json.Unmarshal(m.Payload(), &h)
	if err == nil && (h.V != 1 || h.Depot != depotID || h.Seq == 0) {
		err = fmt.Errorf("v=%d depot=%q seq=%d", h.V, h.Depot, h.Seq)
	}
	s.mu.Lock()
	d := s.depots[depotID]
	if d == nil {
		d = &depot{}
		s.depots[depotID] = d
	}
	d.stats.Received++
	kick := false
	switch {
	case err != nil:
		d.stats.Malformed++
		s.Log.Warn("erpsim malformed tx", "topic", m.Topic(), "err", err)
	case h.Seq <= d.applied:
		d.stats.Duplicates++
		d.dirty = true // the depot resends because it missed our ack: repeat it
	case h.Seq > d.applied+1:
		d.stats.Gaps++
		d.dirty = true
	default:
		d.applied = h.Seq
		if h.Type == voidType {
			d.stats.Voids++
		} else if s.Reject != nil {
			if code, msg, ok := s.Reject(depotID, h.Seq, m.Payload()); ok {
				d.rejections = append(d.rejections, rejection{h.Seq, code, msg})
				d.stats.Rejected++
			}
		}
		d.dirty = true
		d.sinceAck++
		kick = d.sinceAck >= s.AckEvery
	}
	if h.Replay {
		d.stats.Replays++
	}
	s.mu.Unlock()
	if kick {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}
