package barcode

import (
	"strings"
)

// A linter checks one component of an AI value. It returns -1 when the component is fine,
// otherwise the offset of the offending byte within the component and a message. The
// names and rules follow the GS1 Barcode Syntax Tests (gs1/gs1-syntax-dictionary src/lint_*.c).
type linter func(s string) (int, string)

// linterFuncs is initialised before the init that parses the AI table, which needs it.
var linterFuncs = map[string]linter{
	"csum":           lintCsum,
	"csumalpha":      lintCsumAlpha,
	"gcppos1":        lintGCPPos(0),
	"gcppos2":        lintGCPPos(1),
	"yymmd0":         lintYYMMDD(true),
	"yymmdd":         lintYYMMDD(false),
	"yyyymmdd":       lintYYYYMMDD,
	"hhmi":           lintHHMI,
	"hh":             lintRange(0, 23, "hour"),
	"mi":             lintRange(0, 59, "minute"),
	"ss":             lintRange(0, 59, "second"),
	"iso3166":        lintISO3166,
	"iso3166999":     lintISO3166999,
	"iso3166alpha2":  lintISO3166Alpha2,
	"iso4217":        lintISO4217,
	"iso5218":        lintOneOf("0129", "not an ISO/IEC 5218 sex code (0, 1, 2 or 9)"),
	"iban":           lintIBAN,
	"pcenc":          lintPcenc,
	"latitude":       lintRange(0, 1800000000, "latitude"),
	"longitude":      lintRange(0, 3600000000, "longitude"),
	"yesno":          lintOneOf("01", "must be 0 or 1"),
	"nonzero":        lintNonZero,
	"zero":           lintOneOf("0", "must be 0"),
	"winding":        lintOneOf("019", "winding direction must be 0, 1 or 9"),
	"pieceoftotal":   lintPieceOfTotal,
	"hyphen":         lintOneOf("-", "must be a hyphen"),
	"importeridx":    lintImporterIdx,
	"mediatype":      lintMediaType,
	"posinseqslash":  lintPosInSeqSlash,
	"nozeroprefix":   lintNoZeroPrefix,
	"hasnondigit":    lintHasNonDigit,
	"packagetype":    lintNone, // UN/ECE Rec. 21 code list not carried; charset still checked
	"couponcode":     lintNone, // North American coupon layout not decoded; charset still checked
	"couponposoffer": lintNone,
}

func lintNone(string) (int, string) { return -1, "" }

// cset82 is GS1 AI encodable character set 82 (GenSpecs figure 7.11-1).
func inCSet82(c byte) bool {
	switch {
	case c == '!' || c == '"':
		return true
	case c >= '%' && c <= '?':
		return true
	case c >= 'A' && c <= 'Z', c == '_', c >= 'a' && c <= 'z':
		return true
	}
	return false
}

// cset39 is GS1 AI encodable character set 39 (GenSpecs figure 7.11-2).
func inCSet39(c byte) bool {
	return c == '#' || c == '-' || c == '/' || isDigit(c) || c >= 'A' && c <= 'Z'
}

// cset64 is the base64url alphabet (GenSpecs figure 7.11-3); '=' only as trailing padding.
func inCSet64(c byte) bool {
	return isDigit(c) || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-' || c == '_'
}

// checkCSet returns the offset of the first byte outside the component's character set.
func checkCSet(cset byte, s string) int {
	switch cset {
	case 'N':
		for i := 0; i < len(s); i++ {
			if !isDigit(s[i]) {
				return i
			}
		}
	case 'X':
		for i := 0; i < len(s); i++ {
			if !inCSet82(s[i]) {
				return i
			}
		}
	case 'Y':
		for i := 0; i < len(s); i++ {
			if !inCSet39(s[i]) {
				return i
			}
		}
	case 'Z':
		pad := len(s)
		for pad > 0 && s[pad-1] == '=' && len(s)-pad < 2 {
			pad--
		}
		for i := 0; i < pad; i++ {
			if !inCSet64(s[i]) {
				return i
			}
		}
	}
	return -1
}

// CheckDigit returns the GS1 mod-10 check digit for digits (the data without its check
// digit): weights 3,1,3,... from the right. digits must be all ASCII digits.
func CheckDigit(digits string) byte {
	sum := 0
	w := 3
	for i := len(digits) - 1; i >= 0; i-- {
		sum += w * int(digits[i]-'0')
		w = 4 - w
	}
	return byte('0' + (10-sum%10)%10)
}

// ValidCheckDigit reports whether s (all digits, check digit last) has a correct GS1
// mod-10 check digit.
func ValidCheckDigit(s string) bool {
	if len(s) < 2 || !allDigits(s) {
		return false
	}
	return CheckDigit(s[:len(s)-1]) == s[len(s)-1]
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func lintCsum(s string) (int, string) {
	if !allDigits(s) || len(s) < 2 {
		return 0, "check digit needs digits"
	}
	if want := CheckDigit(s[:len(s)-1]); want != s[len(s)-1] {
		return len(s) - 1, "check digit should be " + string(want)
	}
	return -1, ""
}

// lintCsumAlpha checks the GMN/MUDI check character pair (GenSpecs 7.9.5).
func lintCsumAlpha(s string) (int, string) {
	const cset32 = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	primes := [...]int{2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67,
		71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163,
		167, 173, 179, 181, 191, 193, 197, 199, 211, 223, 227, 229, 233, 239, 241, 251, 257, 263,
		269, 271, 277, 281, 283, 293, 307, 311, 313, 317, 331, 337, 347, 349, 353, 359, 367, 373,
		379, 383, 389, 397, 401, 409, 419, 421, 431, 433, 439, 443, 449, 457, 461, 463, 467, 479,
		487, 491, 499, 503, 509}
	n := len(s)
	if n < 2 {
		return 0, "too short for a check character pair"
	}
	if n-2 > len(primes) {
		return 0, "too long for a check character pair"
	}
	for i := n - 2; i < n; i++ {
		if strings.IndexByte(cset32, s[i]) < 0 {
			return i, "check character not in character set 32"
		}
	}
	sum := 0
	for i := 0; i < n-2; i++ {
		sum += cset82Index(s[i]) * primes[n-3-i]
	}
	sum %= 1021
	if s[n-2] != cset32[sum>>5] || s[n-1] != cset32[sum&31] {
		return n - 2, "check character pair should be " + string([]byte{cset32[sum>>5], cset32[sum&31]})
	}
	return -1, ""
}

// cset82Index is a character's 0-based position in character set 82.
func cset82Index(c byte) int {
	const order = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
	return strings.IndexByte(order, c)
}

// lintGCPPos checks that a GS1 Company Prefix can start at offset off: GS1 company
// prefixes are at least 4 digits long. (Whether the prefix is allocated needs GEPIR and is
// not checked.)
func lintGCPPos(off int) linter {
	return func(s string) (int, string) {
		for i := off; i < off+4; i++ {
			if i >= len(s) || !isDigit(s[i]) {
				return min(i, len(s)), "must start with a GS1 Company Prefix (digits)"
			}
		}
		return -1, ""
	}
}

func atoi2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// lintYYMMDD checks a YYMMDD date; with dayZero, DD=00 (meaning the last day of the month,
// GenSpecs 7.12) is allowed. A two-digit year leap test is exact for the 1951-2050 window
// and every other window GenSpecs 7.12 can produce except 2100, which is not a leap year:
// yy%4 matches the syntax dictionary's linter.
func lintYYMMDD(dayZero bool) linter {
	return func(s string) (int, string) {
		if len(s) != 6 || !allDigits(s) {
			return 0, "date must be YYMMDD"
		}
		yy, mm, dd := atoi2(s), atoi2(s[2:]), atoi2(s[4:])
		if mm < 1 || mm > 12 {
			return 2, "month must be 01-12"
		}
		leapYear := 2000 + yy
		if dd == 0 && dayZero {
			return -1, ""
		}
		if dd < 1 || dd > daysIn(leapYear, mm) {
			return 4, "day out of range for the month"
		}
		return -1, ""
	}
}

func lintYYYYMMDD(s string) (int, string) {
	if len(s) != 8 || !allDigits(s) {
		return 0, "date must be YYYYMMDD"
	}
	y := atoi2(s)*100 + atoi2(s[2:])
	mm, dd := atoi2(s[4:]), atoi2(s[6:])
	if mm < 1 || mm > 12 {
		return 4, "month must be 01-12"
	}
	if dd < 1 || dd > daysIn(y, mm) {
		return 6, "day out of range for the month"
	}
	return -1, ""
}

func lintHHMI(s string) (int, string) {
	if len(s) != 4 || !allDigits(s) {
		return 0, "time must be HHMM"
	}
	if atoi2(s) > 23 {
		return 0, "hour must be 00-23"
	}
	if atoi2(s[2:]) > 59 {
		return 2, "minute must be 00-59"
	}
	return -1, ""
}

func lintRange(lo, hi int64, what string) linter {
	return func(s string) (int, string) {
		if s == "" || !allDigits(s) {
			return 0, what + " must be digits"
		}
		var v int64
		for i := 0; i < len(s); i++ {
			v = v*10 + int64(s[i]-'0')
		}
		if v < lo || v > hi {
			return 0, what + " out of range"
		}
		return -1, ""
	}
}

func lintOneOf(allowed, msg string) linter {
	return func(s string) (int, string) {
		if len(s) != 1 || strings.IndexByte(allowed, s[0]) < 0 {
			return 0, msg
		}
		return -1, ""
	}
}

func lintNonZero(s string) (int, string) {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return -1, ""
		}
	}
	return 0, "must not be zero"
}

func lintPieceOfTotal(s string) (int, string) {
	if len(s) != 4 || !allDigits(s) {
		return 0, "piece/total must be 4 digits"
	}
	p, t := atoi2(s), atoi2(s[2:])
	if p == 0 {
		return 0, "piece number must not be zero"
	}
	if t == 0 {
		return 2, "total must not be zero"
	}
	if p > t {
		return 0, "piece number exceeds the total"
	}
	return -1, ""
}

func lintImporterIdx(s string) (int, string) {
	if len(s) != 1 || !inCSet64(s[0]) {
		return 0, "importer index must be one of 0-9 A-Z a-z - _"
	}
	return -1, ""
}

// lintMediaType: AIDC media types 01-10 are assigned by GS1, 80-99 are company internal.
func lintMediaType(s string) (int, string) {
	if len(s) != 2 || !allDigits(s) {
		return 0, "media type must be 2 digits"
	}
	v := atoi2(s)
	if v >= 1 && v <= 10 || v >= 80 {
		return -1, ""
	}
	return 0, "unknown AIDC media type"
}

func lintPosInSeqSlash(s string) (int, string) {
	if len(s) != 3 || !isDigit(s[0]) || s[1] != '/' || !isDigit(s[2]) {
		return 0, "must be position/total, e.g. 1/2"
	}
	if s[0] == '0' || s[2] == '0' || s[0] > s[2] {
		return 0, "position must be 1..total"
	}
	return -1, ""
}

func lintNoZeroPrefix(s string) (int, string) {
	if len(s) > 1 && s[0] == '0' {
		return 0, "must not start with 0"
	}
	return -1, ""
}

func lintHasNonDigit(s string) (int, string) {
	if allDigits(s) {
		return 0, "must contain a non-digit"
	}
	return -1, ""
}

// lintPcenc checks percent-encoding: every '%' starts a two-hex-digit escape.
func lintPcenc(s string) (int, string) {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return i, "invalid percent-encoding"
		}
		i += 2
	}
	return -1, ""
}

func isHex(c byte) bool { return isDigit(c) || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f' }

// lintIBAN checks an ISO 13616 IBAN: country, two check digits, mod-97 == 1.
func lintIBAN(s string) (int, string) {
	if len(s) < 5 {
		return 0, "IBAN too short"
	}
	if _, msg := lintISO3166Alpha2(s[:2]); msg != "" {
		return 0, "IBAN must start with an ISO 3166 country code"
	}
	if !isDigit(s[2]) || !isDigit(s[3]) {
		return 2, "IBAN check digits must be digits"
	}
	rem := 0
	for k := 0; k < len(s); k++ {
		c := s[(k+4)%len(s)]
		switch {
		case isDigit(c):
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A'+10)) % 97
		default:
			return (k + 4) % len(s), "IBAN holds an invalid character"
		}
	}
	if rem != 1 {
		return 2, "IBAN check digits are wrong"
	}
	return -1, ""
}

// ISO 3166-1 numeric and ISO 4217 numeric code sets as 1000-bit maps, bit v set (MSB
// first) when code v is assigned. Values from gs1/gs1-syntax-dictionary lint_iso3166.c and
// lint_iso4217.c (which track the ISO maintenance agencies).
var iso3166Bits = [16]uint64{
	0x08a888898888b888, 0x8aa80a2888888888, 0x0888888a22232889, 0x88188a2221e322a2,
	0x2a2a180088888888, 0x888a888888888888, 0x888288a2622a22a2, 0x222222228808b888,
	0x8888970808222222, 0x2de102888888a222, 0x320a1b222222a203, 0xe20808c8088888a8,
	0x8888889a89002021, 0xe080222a00082102, 0, 0,
}

var iso4217Bits = [16]uint64{
	0x008800008808b808, 0x8880082080880808, 0x0880808800220009, 0x8010820202822000,
	0x0202000008000000, 0x8888088888888080, 0x088288a262222002, 0x022200008800a080,
	0x88080c0008220200, 0x2022028880000020, 0x1202000000202202, 0xa200008000088888,
	0x0088880081002020, 0x2080002800002200, 0x0400000dfeadbfdf, 0xfdfdfce225000000,
}

func inBits(bits *[16]uint64, s string) bool {
	if len(s) != 3 || !allDigits(s) {
		return false
	}
	v := int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
	return bits[v/64]&(uint64(1)<<63>>(v%64)) != 0
}

func lintISO3166(s string) (int, string) {
	if !inBits(&iso3166Bits, s) {
		return 0, "not an ISO 3166 country code"
	}
	return -1, ""
}

func lintISO3166999(s string) (int, string) {
	if s == "999" {
		return -1, ""
	}
	return lintISO3166(s)
}

func lintISO4217(s string) (int, string) {
	if !inBits(&iso4217Bits, s) {
		return 0, "not an ISO 4217 currency code"
	}
	return -1, ""
}

// iso3166Alpha2 lists the assigned ISO 3166-1 alpha-2 codes.
const iso3166Alpha2 = "" +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ " +
	"BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM " +
	"DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS " +
	"GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN " +
	"KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ " +
	"MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM " +
	"PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV " +
	"SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI " +
	"VN VU WF WS YE YT ZA ZM ZW"

func lintISO3166Alpha2(s string) (int, string) {
	if len(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return 0, "not an ISO 3166 alpha-2 country code"
	}
	for i := 0; i+2 <= len(iso3166Alpha2); i += 3 {
		if iso3166Alpha2[i:i+2] == s {
			return -1, ""
		}
	}
	return 0, "not an ISO 3166 alpha-2 country code"
}
