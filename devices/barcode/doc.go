// Package barcode turns what a scanner sends into exactly the right data, or a precise
// refusal. It is pure: no I/O, no goroutines, no imports from the rest of depotd.
//
// A Decoder, built once from Config, classifies each scan (Result.Kind) and decodes it:
//
//   - GS1 element strings from GS1-128 (]C1), GS1 DataMatrix (]d2), GS1 QR (]Q3), GS1 DataBar
//     and composites (]e0) and GS1 DotCode (]J1), validated against the full GS1 application
//     identifier table (aitable.go, from the GS1 Barcode Syntax Dictionary): lengths, FNC1
//     placement, character sets, check digits, dates (DD=00 is the month's last day),
//     country and currency codes, implied decimal points (310n-369n, 390n-395n), exclusive
//     AI pairs (ex=), every mandatory association (req=: a lot needs its GTIN) and repeated
//     AIs;
//   - bracketed human-readable text, "(01)09506000134352(10)ABC";
//   - GS1 Digital Link URIs (URI Syntax 1.4): an optional stem, a primary key and its
//     qualifiers in the path in their GS1 order, no empty or unknown path segments, data
//     attributes (never keys or qualifiers) in the query, percent-encoding. Every http(s)
//     scan is a valid Digital Link or refused, never passed on as opaque data;
//   - EAN-13, EAN-8, UPC-A, UPC-E (expanded) and ITF-14 with check digits, GTINs normalised
//     to 14 digits, EAN add-ons and EAN composites;
//   - weight- and price-embedded EAN-13 by Odoo-style nomenclature patterns
//     ("21.....{NNDDD}"), with the base code (value zeroed, check digit recomputed) the
//     item master stores;
//   - depot-internal codes by prefix: operator badges, commands (including Odoo's O-CMD.
//     and O-BTN.), quantities, references and locations.
//
// A leading AIM symbology identifier (ISO/IEC 15424, "]C1") decides how the data is read;
// without one the data's shape does. GS (0x1D) is FNC1. A leading "]" is always an
// identifier: it must be complete ("]", a code letter, a modifier), and the data must be
// what it promises: ]E0 an EAN-13 (or UPC) with a valid check digit, ]E4 an EAN-8, ]I
// digits, ]C1, ]d2, ]Q3, ]e0 and ]J1 a GS1 element string (never a URI nor a depot code).
// Otherwise the scan is refused with the reason.
//
// DecodeForItem reads a scan together with AIs already read from the same item's other
// barcodes (a lot label after the product's GTIN): GS1 evaluates mandatory associations
// over all carriers of an item, so those AIs may meet this scan's req= rules.
//
// Contract: Decode never panics and never allocates beyond a small multiple of its input,
// which Config.MaxLength bounds (fuzzed). Every refusal is an *Error carrying a sentinel
// (errors.Is), an operator-readable message and the 0-based byte position of the problem in
// the data given to Decode. Values are exact strings: decimals keep their encoded scale,
// pound weights are converted to kilograms exactly.
//
// Concurrency: a Decoder is immutable and safe for concurrent use.
//
// Caveats: GS1 Company Prefix allocation, UN/ECE package type codes (7041) and the North
// American coupon layouts (8110, 8112) are not checked beyond their character sets. The
// century of two-digit years follows GenSpecs 7.12 relative to the Decoder's clock
// (WithNow).
//
// Why hand-written: the reference implementation (GS1 Barcode Syntax Engine) is C and no Go
// module among the approved dependencies parses GS1 data. The AI table is kept as data in
// the Syntax Dictionary's own notation, so it can follow GS1 releases, and is tested entry
// by entry.
package barcode
