package engine

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead reads arbitrary bytes as a log file: only intact records of this database
// with consecutive lsns come out, corruption is reported only with the intact later
// record that proves it, and reading never panics.
func FuzzRead(f *testing.F) {
	for _, seed := range seedFiles(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		next := uint64(7)
		err := Read(bytes.NewReader(file), int64(len(file)), 42, 6, func(r Record) error {
			if r.LSN != next {
				t.Fatalf("record lsn %d, want %d", r.LSN, next)
			}
			next++
			return nil
		})
		var ce *CorruptError
		if errors.As(err, &ce) {
			rec, rerr := readRecord(bytes.NewReader(file), int64(len(file)), ce.FoundOffset, 42)
			if rerr != nil || rec == nil || ce.Found < next || ce.Bad != next || ce.FoundOffset <= ce.BadOffset {
				t.Fatalf("corruption reported without proof: %v (next lsn %d)", err, next)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
	})
}

// seedFiles are log files of id 42 after lsn 6, cut after the second record's header:
// one good record, and one torn.
func seedFiles(tb testing.TB) [][]byte {
	path := filepath.Join(tb.TempDir(), "seed.wal")
	raw := writeLog(tb, path, 4*BlockSize, 42, 6, []byte("\x01\x02tx\x01a\x02{}"), []byte("second"), nil)
	// Kept short: the fuzzer slows to a crawl on inputs of many kilobytes. The second
	// record's header is enough to read it as the next (or as torn).
	torn := bytes.Clone(raw[:BlockSize+HeaderSize+8])
	torn[HeaderSize+3] ^= 0xff
	return [][]byte{raw[:BlockSize+HeaderSize+8], torn, nil}
}

// writeLog writes one record per payload into a new log and returns the file's bytes.
func writeLog(tb testing.TB, path string, size int64, id, lsn uint64, payloads ...[]byte) []byte {
	tb.Helper()
	l, err := OpenLog(path, size, id, lsn, Hooks{})
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	var buf []byte
	for _, p := range payloads {
		off, lsn, err := l.Reserve(len(p))
		if err != nil {
			tb.Fatal(err)
		}
		if buf, err = l.Write(buf, off, lsn, len(p), [][]byte{p}); err != nil {
			tb.Fatal(err)
		}
	}
	if err := l.Sync(); err != nil {
		tb.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}
