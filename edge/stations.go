package edge

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Station state: the scanner stations (package edge/station) keep each station's open
// document, operator and last feedback here, so that an open document survives a restart.
// The journal stores the bytes without looking into them.

// PutStationStates writes several station states at once (a station's state and anything
// that must change with it, such as the list of closed references) and returns once they
// are durable. A nil value deletes the key. They ride in the WAL record of the group
// commit they join, like a transaction: a scan costs one fdatasync of one block, not a
// bbolt commit (two fdatasyncs and its pages; measured by BenchmarkScanToCommit: two of
// them per station transaction before).
func (j *Journal) PutStationStates(states map[string][]byte) error {
	own := make(map[string][]byte, len(states))
	for name, raw := range states {
		switch {
		case name == "":
			return fmt.Errorf("store station state in %s: empty station state key", j.path)
		case len(name) > bolt.MaxKeySize:
			return fmt.Errorf("store station state in %s: key of %d bytes is over bbolt's %d", j.path, len(name), bolt.MaxKeySize)
		case len(raw) > bolt.MaxValueSize:
			return fmt.Errorf("store station state %s in %s: %d bytes is over bbolt's %d", name, j.path, len(raw), bolt.MaxValueSize)
		}
		if raw != nil {
			raw = bytes.Clone(raw)
		}
		own[name] = raw
	}
	if err := j.submit(&commitReq{states: own}).err; err != nil {
		return fmt.Errorf("store station state in %s: %w", j.path, err)
	}
	return nil
}

// StationStates returns every stored station state by key, including those only the WAL
// holds yet.
func (j *Journal) StationStates() (map[string][]byte, error) {
	out := map[string][]byte{}
	err := j.view(func(btx *bolt.Tx) error {
		return btx.Bucket(bucketStations).ForEach(func(k, v []byte) error {
			out[string(k)] = bytes.Clone(v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read station states from %s: %w", j.path, err)
	}
	return out, nil
}
