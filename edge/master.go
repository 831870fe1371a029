package edge

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Item is one product of the master data.
type Item struct {
	SKU          string      `yaml:"sku" json:"sku"`
	Name         string      `yaml:"name,omitempty" json:"name,omitempty"`
	UoM          string      `yaml:"uom,omitempty" json:"uom,omitempty"`
	Barcodes     []string    `yaml:"barcodes,omitempty" json:"barcodes,omitempty"`
	Packagings   []Packaging `yaml:"packagings,omitempty" json:"packagings,omitempty"`
	UnitWeightKg string      `yaml:"unit_weight_kg,omitempty" json:"unit_weight_kg,omitempty"`
	Tracking     string      `yaml:"tracking,omitempty" json:"tracking,omitempty"` // none, lot, serial
	Expiry       bool        `yaml:"expiry,omitempty" json:"expiry,omitempty"`     // needs an expiry date
}

// Packaging is a barcode that stands for several base units (a case of 12).
type Packaging struct {
	Name    string `yaml:"name,omitempty" json:"name,omitempty"`
	Barcode string `yaml:"barcode" json:"barcode"`
	Qty     Qty    `yaml:"qty" json:"qty"`
}

// Operator is a person who can log in at a station with a badge.
type Operator struct {
	Badge string `yaml:"badge" json:"badge"`
	Name  string `yaml:"name" json:"name"`
	Role  string `yaml:"role" json:"role"` // operator, supervisor, admin
}

// MasterItems, MasterLocations and MasterOperators are full snapshots as the ERP sends them.
type MasterItems struct {
	V       int    `json:"v"`
	Version string `json:"version"`
	Items   []Item `json:"items"`
}

type MasterLocations struct {
	V         int        `json:"v"`
	Version   string     `json:"version"`
	Locations []Location `json:"locations"`
}

type MasterOperators struct {
	V         int        `json:"v"`
	Version   string     `json:"version"`
	Operators []Operator `json:"operators"`
}

// Master data kinds.
const (
	MasterKindItems     = "items"
	MasterKindLocations = "locations"
	MasterKindOperators = "operators"
)

// ValidateMaster decodes and checks a master-data payload of the given kind, refusing
// unknown fields, and returns its version.
func ValidateMaster(kind string, payload []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	switch kind {
	case MasterKindItems:
		var m MasterItems
		if err := dec.Decode(&m); err != nil {
			return "", fmt.Errorf("master items: %w", err)
		}
		for i, it := range m.Items {
			p := fmt.Sprintf("items[%d]", i)
			if fe := checkText(p+".sku", it.SKU, maxTextLen, true); fe != nil {
				return "", fe
			}
			switch it.Tracking {
			case "", "none", "lot", "serial":
			default:
				return "", fieldErr(p+".tracking", "unknown tracking %q (none, lot, serial)", it.Tracking)
			}
			for k, pk := range it.Packagings {
				if pk.Qty.Sign() <= 0 {
					return "", fieldErr(fmt.Sprintf("%s.packagings[%d].qty", p, k), "must be greater than zero")
				}
			}
			if it.UnitWeightKg != "" {
				if q, err := ParseQtyAnyScale(it.UnitWeightKg); err != nil || q.Sign() <= 0 {
					return "", fieldErr(p+".unit_weight_kg", "must be a positive decimal")
				}
			}
		}
		return checkV(m.V, m.Version)
	case MasterKindLocations:
		var m MasterLocations
		if err := dec.Decode(&m); err != nil {
			return "", fmt.Errorf("master locations: %w", err)
		}
		for i, l := range m.Locations {
			if fe := checkText(fmt.Sprintf("locations[%d].name", i), l.Name, maxTextLen, true); fe != nil {
				return "", fe
			}
		}
		return checkV(m.V, m.Version)
	case MasterKindOperators:
		var m MasterOperators
		if err := dec.Decode(&m); err != nil {
			return "", fmt.Errorf("master operators: %w", err)
		}
		for i, o := range m.Operators {
			if fe := checkText(fmt.Sprintf("operators[%d].badge", i), o.Badge, maxTextLen, true); fe != nil {
				return "", fe
			}
			switch o.Role {
			case "operator", "supervisor", "admin":
			default:
				return "", fieldErr(fmt.Sprintf("operators[%d].role", i), "unknown role %q", o.Role)
			}
		}
		return checkV(m.V, m.Version)
	}
	return "", fmt.Errorf("unknown master data kind %q (items, locations, operators)", kind)
}

func checkV(v int, version string) (string, error) {
	if v != 1 {
		return "", fieldErr("v", "unsupported payload version %d (this depotd speaks 1)", v)
	}
	if version == "" {
		return "", fieldErr("version", "required")
	}
	return version, nil
}

// PutMaster validates and stores a master-data snapshot (fsynced) and returns its version.
func (j *Journal) PutMaster(kind string, payload []byte) (string, error) {
	version, err := ValidateMaster(kind, payload)
	if err != nil {
		return "", err
	}
	err = j.update(func(btx *bolt.Tx) error {
		return btx.Bucket(bucketMaster).Put([]byte(kind), bytes.Clone(payload))
	})
	// Moved even after an error: whether the write took is then unknown, and a digest
	// recomputed once costs nothing wrong.
	j.digests.gen.Add(1)
	if err != nil {
		return "", fmt.Errorf("store master %s: %w", kind, err)
	}
	return version, nil
}

// Master returns the stored payload of a master-data kind, or nil when none was received.
func (j *Journal) Master(kind string) ([]byte, error) {
	var out []byte
	err := j.db.View(func(btx *bolt.Tx) error {
		out = bytes.Clone(btx.Bucket(bucketMaster).Get([]byte(kind)))
		return nil
	})
	return out, err
}
