package edge

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// JournalConfig is the `journal:` section: how long acknowledged transactions are kept and
// how large the database may grow.
type JournalConfig struct {
	// Retention is how long an acknowledged transaction is kept after it was committed
	// (default 2160h, 90 days). Unacknowledged transactions are never pruned.
	Retention time.Duration `yaml:"retention"`
	// MaxDBSize bounds the database's live size (default 1GiB). At 80 % a disk_space
	// exception is raised; at 95 % new transactions are refused with ErrDiskFull.
	MaxDBSize ByteSize `yaml:"max_db_size"`
	// PruneInterval is how often the pruner looks for expired transactions (default 1m).
	PruneInterval time.Duration `yaml:"prune_interval"`
	// PruneBatch bounds how many transactions one pruning commit deletes (default 256), so
	// that posting never waits long behind it.
	PruneBatch int `yaml:"prune_batch"`
}

// Defaults of the journal section.
const (
	DefaultRetention     = 90 * 24 * time.Hour
	DefaultMaxDBSize     = ByteSize(1 << 30)
	DefaultPruneInterval = time.Minute
	DefaultPruneBatch    = 256
)

// ApplyDefaults fills unset fields with their documented defaults.
func (c *JournalConfig) ApplyDefaults() {
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.MaxDBSize == 0 {
		c.MaxDBSize = DefaultMaxDBSize
	}
	if c.PruneInterval == 0 {
		c.PruneInterval = DefaultPruneInterval
	}
	if c.PruneBatch == 0 {
		c.PruneBatch = DefaultPruneBatch
	}
}

// Check reports every problem with its key path.
func (c *JournalConfig) Check(path string, report func(key, msg string)) {
	if c.Retention < time.Hour {
		report(path+".retention", fmt.Sprintf("%s: must be at least 1h (acknowledged transactions are the depot's audit trail)", c.Retention))
	}
	if c.MaxDBSize < MinMaxDBSize {
		report(path+".max_db_size", fmt.Sprintf("%s: must be at least %s", c.MaxDBSize, MinMaxDBSize))
	}
	if c.PruneInterval < time.Second {
		report(path+".prune_interval", fmt.Sprintf("%s: must be at least 1s", c.PruneInterval))
	}
	if c.PruneBatch < 1 || c.PruneBatch > 10000 {
		report(path+".prune_batch", fmt.Sprintf("%d: must be between 1 and 10000", c.PruneBatch))
	}
}

// MinMaxDBSize is the smallest journal.max_db_size accepted: below it bbolt's own overhead
// would trip the thresholds.
const MinMaxDBSize = ByteSize(1 << 20)

// ByteSize is a size in bytes, written in config as a plain integer or with a unit:
// 512MB, 1GiB, 64k. KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB (and k/K/M/G/T
// alone) powers of 1024, as in systemd's own size settings.
type ByteSize int64

var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
}

// ParseByteSize parses a size such as "512MB", "1GiB", "1.5G" or "4096".
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	if num == "" {
		return 0, fmt.Errorf("size %q: expected a number with an optional unit (B, KB, KiB, MB, MiB, GB, GiB)", s)
	}
	mult, ok := byteUnits[unit]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q (B, KB, KiB, MB, MiB, GB, GiB, TB, TiB)", s, t[i:])
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || (mult > 1 && n > math.MaxInt64/mult) {
			return 0, fmt.Errorf("size %q: out of range", s)
		}
		return ByteSize(n * mult), nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %q is not a number", s, num)
	}
	v := f * float64(mult)
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q: out of range", s)
	}
	return ByteSize(v), nil
}

// UnmarshalText makes ByteSize readable from YAML.
func (b *ByteSize) UnmarshalText(p []byte) error {
	v, err := ParseByteSize(string(p))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// MarshalText writes the exact form String gives.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// String writes the size with the largest binary unit that divides it exactly, so that
// ParseByteSize(b.String()) == b.
func (b ByteSize) String() string {
	for _, u := range []struct {
		name string
		n    int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && int64(b)%u.n == 0 {
			return strconv.FormatInt(int64(b)/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}
