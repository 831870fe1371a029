package engine

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A record's payload is the group's writes to bbolt, in order:
//
//	kind byte (OpPut, OpDelete), bucket (byte length + name),
//	key (uvarint length + bytes), value (uvarint length + bytes, puts only)
const (
	OpPut    = 1
	OpDelete = 2
)

// Writer writes into a bbolt transaction while recording every write as a WAL payload.
type Writer struct {
	t   *bolt.Tx
	ops []byte
}

// NewWriter returns a writer into t, with room for about size bytes of payload.
func NewWriter(t *bolt.Tx, size int) *Writer {
	return &Writer{t: t, ops: make([]byte, 0, size)}
}

// Tx is the transaction written to.
func (w *Writer) Tx() *bolt.Tx { return w.t }

// Ops is the payload recorded so far.
func (w *Writer) Ops() []byte { return w.ops }

// Put puts k=v into bucket and records it.
func (w *Writer) Put(bucket, k, v []byte) error {
	if err := w.t.Bucket(bucket).Put(k, v); err != nil {
		return err
	}
	w.record(OpPut, bucket, k, v)
	return nil
}

// Delete deletes k from bucket and records it.
func (w *Writer) Delete(bucket, k []byte) error {
	if err := w.t.Bucket(bucket).Delete(k); err != nil {
		return err
	}
	w.record(OpDelete, bucket, k, nil)
	return nil
}

func (w *Writer) record(op byte, bucket, k, v []byte) {
	w.ops = append(w.ops, op, byte(len(bucket)))
	w.ops = append(w.ops, bucket...)
	w.ops = binary.AppendUvarint(w.ops, uint64(len(k)))
	w.ops = append(w.ops, k...)
	if op == OpPut {
		w.ops = binary.AppendUvarint(w.ops, uint64(len(v)))
		w.ops = append(w.ops, v...)
	}
}

// ApplyOps replays a payload into t and returns how many writes it applied. bbolt keeps
// the key and value slices until the transaction ends, so payload must not be reused
// while t is open. A payload it cannot decode is an error, never a panic.
func ApplyOps(t *bolt.Tx, payload []byte) (int, error) {
	n := 0
	for p := payload; len(p) > 0; n++ {
		if len(p) < 2 || int(p[1]) > len(p)-2 {
			return n, fmt.Errorf("op %d: truncated", n)
		}
		op, name := p[0], p[2:2+int(p[1])]
		p = p[2+int(p[1]):]
		k, rest, err := uvarintBytes(p)
		if err != nil {
			return n, fmt.Errorf("op %d key: %w", n, err)
		}
		p = rest
		b := t.Bucket(name)
		if b == nil {
			return n, fmt.Errorf("op %d: no bucket %q", n, name)
		}
		switch op {
		case OpPut:
			v, rest, err := uvarintBytes(p)
			if err != nil {
				return n, fmt.Errorf("op %d value: %w", n, err)
			}
			p = rest
			if err := b.Put(k, v); err != nil {
				return n, fmt.Errorf("op %d: put %q: %w", n, name, err)
			}
		case OpDelete:
			if err := b.Delete(k); err != nil {
				return n, fmt.Errorf("op %d: delete %q: %w", n, name, err)
			}
		default:
			return n, fmt.Errorf("op %d: unknown kind %d", n, op)
		}
	}
	return n, nil
}

func uvarintBytes(p []byte) ([]byte, []byte, error) {
	l, w := binary.Uvarint(p)
	if w <= 0 || l > uint64(len(p)-w) {
		return nil, nil, errors.New("bad length")
	}
	return p[w : w+int(l)], p[w+int(l):], nil
}
