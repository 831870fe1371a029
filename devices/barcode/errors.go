package barcode

import (
	"errors"
	"fmt"
)

// Sentinel errors classify a refusal; every *Error wraps exactly one of them, so callers
// test with errors.Is and show Error.Msg to the operator.
var (
	// ErrEmpty: the scan carried no data (after the AIM identifier, if any).
	ErrEmpty = errors.New("empty barcode")
	// ErrTooLong: the scan is longer than MaxDataLength bytes.
	ErrTooLong = errors.New("barcode too long")
	// ErrCheckDigit: a mod-10 check digit (GTIN, SSCC, GLN, ...) or a GMN check pair is wrong.
	ErrCheckDigit = errors.New("wrong check digit")
	// ErrSymbology: the data does not fit the symbology it was read as (length, digits,
	// an unsupported AIM identifier).
	ErrSymbology = errors.New("invalid symbology data")
	// ErrUnknownAI: a GS1 element string names an application identifier GS1 has not defined.
	ErrUnknownAI = errors.New("unknown application identifier")
	// ErrSyntax: a GS1 element string is malformed (missing or misplaced FNC1, empty value,
	// broken bracketed syntax).
	ErrSyntax = errors.New("malformed GS1 data")
	// ErrLength: an AI value is shorter or longer than the AI allows.
	ErrLength = errors.New("AI value has the wrong length")
	// ErrCharset: an AI value holds a character its character set does not allow.
	ErrCharset = errors.New("AI value has an invalid character")
	// ErrContent: an AI value breaks a content rule (date, time, country, currency, ...).
	ErrContent = errors.New("AI value is invalid")
	// ErrPairing: AIs that GS1 forbids together appear together, one AI appears twice with
	// different values, or (in strict mode) a required partner AI is missing.
	ErrPairing = errors.New("invalid AI combination")
	// ErrDigitalLink: a GS1 Digital Link URI is malformed (scheme, domain, path order,
	// query attribute, percent-encoding).
	ErrDigitalLink = errors.New("invalid GS1 Digital Link URI")
	// ErrPattern: a barcode matched a nomenclature pattern (weight, price) but its embedded
	// value cannot be read.
	ErrPattern = errors.New("invalid embedded value")
)

// Error is a refusal with the byte position (0-based, in the data as given to Decode,
// AIM identifier included) where the problem was found.
type Error struct {
	Kind error  // one of the sentinel errors above
	Msg  string // operator-readable message
	Pos  int    // 0-based byte offset into the scanned data
}

func (e *Error) Error() string { return fmt.Sprintf("%s (at byte %d)", e.Msg, e.Pos) }

// Unwrap lets errors.Is match the sentinel.
func (e *Error) Unwrap() error { return e.Kind }

func errAt(kind error, pos int, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Pos: pos}
}
