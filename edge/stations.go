package edge

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Station state: the scanner stations (package edge/station) keep each station's open
// document, operator and last feedback here, so that an open document survives a restart.
// The journal stores the bytes without looking into them.

// PutStationStates writes several station states in one fsynced bbolt transaction (a
// station's state and anything that must change with it, such as the list of closed
// references). A nil value deletes the key.
func (j *Journal) PutStationStates(states map[string][]byte) error {
	err := j.update(func(btx *bolt.Tx) error {
		b := btx.Bucket(bucketStations)
		for name, raw := range states {
			if name == "" {
				return fmt.Errorf("empty station state key")
			}
			if raw == nil {
				if err := b.Delete([]byte(name)); err != nil {
					return err
				}
				continue
			}
			if err := b.Put([]byte(name), bytes.Clone(raw)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store station state in %s: %w", j.path, err)
	}
	return nil
}

// StationStates returns every stored station state by key.
func (j *Journal) StationStates() (map[string][]byte, error) {
	out := map[string][]byte{}
	err := j.db.View(func(btx *bolt.Tx) error {
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
