package edge

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"sync"
	"sync/atomic"

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

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MasterDigest identifies the stored payload of a master-data kind without copying it
// (CRC-32C and length; 0, 0 when none is stored), so that a reader caching decoded master
// data can tell cheaply, on every scan, whether the uplink stored a new snapshot.
//
// The digest is computed once per stored payload: PutMaster, the only writer of master
// data while the journal is open, moves a generation counter once its write is visible,
// and a digest computed under an older generation is recomputed.
func (j *Journal) MasterDigest(kind string) (uint64, error) {
	gen := j.digests.gen.Load()
	j.digests.mu.Lock()
	c, ok := j.digests.byKind[kind]
	j.digests.mu.Unlock()
	if ok && c.gen == gen {
		return c.sum, nil
	}
	var d uint64
	err := j.db.View(func(btx *bolt.Tx) error {
		v := btx.Bucket(bucketMaster).Get([]byte(kind))
		if v != nil {
			d = uint64(len(v))<<32 | uint64(crc32.Checksum(v, castagnoli))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	j.digests.mu.Lock()
	if j.digests.byKind == nil {
		j.digests.byKind = map[string]cachedDigest{}
	}
	// Read under gen, which is no newer than what the View saw: if PutMaster moved gen
	// meanwhile, the next call recomputes.
	j.digests.byKind[kind] = cachedDigest{gen: gen, sum: d}
	j.digests.mu.Unlock()
	return d, nil
}

type masterDigests struct {
	gen    atomic.Uint64 // moved by PutMaster after each write
	mu     sync.Mutex
	byKind map[string]cachedDigest
}

type cachedDigest struct {
	gen, sum uint64
}
