package guesttest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
)

// QMP is a client of QEMU's machine protocol: commands are answered in order; events
// (DEVICE_DELETED, ...) arrive in between and are kept for WaitEvent.
type QMP struct {
	conn net.Conn

	cmdMu sync.Mutex // one command in flight
	resp  chan qmpMsg

	evMu   sync.Mutex
	events []qmpMsg
	evNew  chan struct{} // closed and replaced on every event

	done chan struct{} // closed when the reader returns
	err  error         // why the reader returned; read after done
}

type qmpMsg struct {
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// newQMP reads QEMU's greeting, leaves capabilities negotiation and starts the reader,
// which conn's closing stops.
func newQMP(conn net.Conn) (*QMP, error) {
	q := &QMP{conn: conn, resp: make(chan qmpMsg, 4), evNew: make(chan struct{}), done: make(chan struct{})}
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() {
		return nil, fmt.Errorf("qmp greeting: %v", sc.Err())
	}
	go q.read(sc)
	if _, err := q.Execute(context.Background(), "qmp_capabilities", nil); err != nil {
		return nil, err
	}
	return q, nil
}

func (q *QMP) read(sc *bufio.Scanner) {
	defer close(q.done)
	for sc.Scan() {
		var m qmpMsg
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			q.err = fmt.Errorf("qmp: %w: %q", err, sc.Bytes())
			return
		}
		if m.Event != "" {
			q.evMu.Lock()
			q.events = append(q.events, m)
			close(q.evNew)
			q.evNew = make(chan struct{})
			q.evMu.Unlock()
			continue
		}
		select {
		case q.resp <- m:
		default: // the answer to a command that timed out: nobody waits for it
		}
	}
	q.err = sc.Err()
	if q.err == nil {
		q.err = errors.New("qmp: connection closed")
	}
}

// Execute runs one command and returns its "return" value, or its error as an error.
func (q *QMP) Execute(ctx context.Context, cmd string, args any) (json.RawMessage, error) {
	q.cmdMu.Lock()
	defer q.cmdMu.Unlock()
	req := map[string]any{"execute": cmd}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if _, err := q.conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", cmd, err)
	}
	select {
	case m := <-q.resp:
		if m.Error != nil {
			return nil, fmt.Errorf("qmp %s: %s: %s", cmd, m.Error.Class, m.Error.Desc)
		}
		return m.Return, nil
	case <-q.done:
		return nil, fmt.Errorf("qmp %s: %w", cmd, q.err)
	case <-ctx.Done():
		return nil, fmt.Errorf("qmp %s: %w", cmd, ctx.Err())
	}
}

// WaitEvent waits for an event named name whose data match says yes to, among the events
// received since the call before it returned (so an event that came before the wait
// began is not missed) and consumes it.
func (q *QMP) WaitEvent(ctx context.Context, name string, match func(data json.RawMessage) bool) error {
	for {
		q.evMu.Lock()
		for i, e := range q.events {
			if e.Event == name && (match == nil || match(e.Data)) {
				q.events = append(q.events[:i:i], q.events[i+1:]...)
				q.evMu.Unlock()
				return nil
			}
		}
		ch := q.evNew
		q.evMu.Unlock()
		select {
		case <-ch:
		case <-q.done:
			return fmt.Errorf("qmp event %s: %w", name, q.err)
		case <-ctx.Done():
			return fmt.Errorf("qmp event %s: %w", name, ctx.Err())
		}
	}
}
