package engine

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
)

// Read gives back exactly the records a power cut can leave acknowledged, and tells a
// torn last record (the end of the log) from damage before intact records (corruption).
func TestReadReturnsTheAcknowledgedRecordsAndRefusesDamageBeforeThem(t *testing.T) {
	payloads := [][]byte{[]byte("one"), bytes.Repeat([]byte("two"), 2000), []byte("three"), []byte("four")}
	// Offsets of the four records: the second spans two blocks.
	offs := []int64{0, BlockSize, 3 * BlockSize, 4 * BlockSize}
	for _, tc := range []struct {
		name    string
		damage  func(raw []byte)
		id      uint64
		want    int    // records read
		corrupt uint64 // Bad lsn of a CorruptError, or 0
	}{
		{"intact", func([]byte) {}, 42, 4, 0},
		{"torn last record", func(raw []byte) { raw[offs[3]+HeaderSize] ^= 1 }, 42, 3, 0},
		{"last record never written", func(raw []byte) { clear(raw[offs[3] : offs[3]+BlockSize]) }, 42, 3, 0},
		{"flipped bit in the first of four", func(raw []byte) { raw[offs[0]+HeaderSize+1] ^= 0x10 }, 42, 0, 1},
		{"damaged header in the middle", func(raw []byte) { raw[offs[1]+5] ^= 0xff }, 42, 1, 2},
		{"damaged second block of a long record", func(raw []byte) { raw[offs[1]+BlockSize+7] ^= 0x01 }, 42, 1, 2},
		{"another database's log", func([]byte) {}, 7, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := writeLog(t, filepath.Join(t.TempDir(), "x.wal"), 8*BlockSize, 42, 10, payloads...)
			tc.damage(raw)
			var got [][]byte
			err := Read(bytes.NewReader(raw), int64(len(raw)), tc.id, 10, func(r Record) error {
				if r.LSN != uint64(11+len(got)) {
					t.Fatalf("lsn %d, want %d", r.LSN, 11+len(got))
				}
				got = append(got, r.Payload)
				return nil
			})
			var ce *CorruptError
			switch {
			case tc.corrupt != 0:
				if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || ce.Bad != 10+tc.corrupt {
					t.Fatalf("err %v, want corruption at lsn %d", err, 10+tc.corrupt)
				}
			case err != nil:
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Fatalf("%d records, want %d", len(got), tc.want)
			}
			for i, p := range got {
				if !bytes.Equal(p, payloads[i]) {
					t.Fatalf("record %d differs", i)
				}
			}
		})
	}
}

// A round that starts over after a checkpoint leaves the previous round's records
// beyond its end: they carry lower lsns and are neither replayed nor taken for damage.
func TestEarlierRoundsAreNeitherReplayedNorCorruption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.wal")
	writeLog(t, path, 8*BlockSize, 42, 0, []byte("a"), []byte("b"), []byte("c"), []byte("d"))
	// Checkpointed through lsn 4; the new round wrote one record over the first.
	raw := writeLog(t, path, 8*BlockSize, 42, 4, []byte("e"))
	var n int
	if err := Read(bytes.NewReader(raw), int64(len(raw)), 42, 4, func(Record) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("%d records, %v: want the one of this round", n, err)
	}
}

// A record that does not fit before the end is refused (the journal then checkpoints),
// and Restart makes the whole log available again.
func TestReserveRefusesWhatDoesNotFitUntilRestart(t *testing.T) {
	l, err := OpenLog(filepath.Join(t.TempDir(), "x.wal"), 4*BlockSize, 1, 0, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, _, err := l.Reserve(3 * BlockSize); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Reserve(BlockSize); !errors.Is(err, ErrFull) {
		t.Fatalf("reserve past the end: %v, want ErrFull", err)
	}
	if l.Reserved() != 1 {
		t.Fatalf("reserved lsn %d, want 1", l.Reserved())
	}
	l.Restart(1)
	if off, lsn, err := l.Reserve(BlockSize); err != nil || off != 0 || lsn != 2 {
		t.Fatalf("after restart: off %d lsn %d %v, want 0, 2", off, lsn, err)
	}
}

// Every open makes the file and its directory durable, not only the one that created it;
// a failing sync is the caller's error, with the file named.
func TestOpenSyncsTheFileAndDirectoryEveryTimeAndSyncFailuresAreReported(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.wal")
	for i := range 2 {
		synced := map[string]bool{}
		l, err := OpenLog(path, 4*BlockSize, 1, 0, Hooks{Synced: func(p string) { synced[p] = true }})
		if err != nil {
			t.Fatal(err)
		}
		if !synced[path] || !synced[dir] {
			t.Fatalf("open %d synced %v, want %s and %s", i+1, synced, path, dir)
		}
		l.Close()
	}
	boom := errors.New("boom")
	l, err := OpenLog(path, 4*BlockSize, 1, 0, Hooks{BeforeSync: func() error { return boom }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Sync(); !errors.Is(err, boom) || !bytes.Contains([]byte(err.Error()), []byte(path)) {
		t.Fatalf("sync: %v, want boom naming %s", err, path)
	}
	if _, err := OpenLog(path, BlockSize, 1, 0, Hooks{}); err == nil {
		t.Fatal("a log of one block opened")
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
