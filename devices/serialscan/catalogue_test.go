package serialscan_test

import "github.com/depotd/depotd/devices/serialscan"

// want is one expected frame: an accepted scan (Bad == nil) or a refusal.
type want struct {
	AIM  string
	Data string
	Raw  string
	Bad  error // sentinel the refusal wraps
}

// catalogueCase is one byte-level case. The catalogue is shared by TestFramerCatalogue,
// the fuzz seeds (f.Add) and the committed corpus under testdata/fuzz/FuzzFramer.
// Frames come from the reference (../shared/reference/devices.md §2.1): framing
// `[prefix][AIM ID]<data>[suffix]`, FNC1 as GS 0x1D, AIM IDs ]C1 ]E0 ]E4 ]I1 ]e0 ]d2 ]Q3 ]A0.
type catalogueCase struct {
	name   string
	suffix serialscan.Suffix
	prefix string
	max    int
	in     string
	want   []want
}

const gs1Element = "]C1011231231231233310ABC123\x1d99TESTING"

var catalogue = []catalogueCase{
	{name: "auto_cr_gs1_128", suffix: serialscan.SuffixAuto, in: gs1Element + "\r",
		want: []want{{AIM: "]C1", Data: "011231231231233310ABC123\x1d99TESTING", Raw: gs1Element}}},
	{name: "auto_crlf_ean13", in: "]E04006381333931\r\n",
		want: []want{{AIM: "]E0", Data: "4006381333931", Raw: "]E04006381333931"}}},
	{name: "auto_lf_ean8", suffix: serialscan.SuffixAuto, in: "]E496385074\n",
		want: []want{{AIM: "]E4", Data: "96385074", Raw: "]E496385074"}}},
	{name: "auto_empty_lines_ignored", in: "\r\n\r\n\n\r]I110012345678902\r\n\n",
		want: []want{{AIM: "]I1", Data: "10012345678902", Raw: "]I110012345678902"}}},
	{name: "auto_two_scans_one_read", in: "]A0ABC-123\r]d2\x1d0109501101530003\x1d10LOT\r\n",
		want: []want{
			{AIM: "]A0", Data: "ABC-123", Raw: "]A0ABC-123"},
			{AIM: "]d2", Data: "\x1d0109501101530003\x1d10LOT", Raw: "]d2\x1d0109501101530003\x1d10LOT"},
		}},
	{name: "no_aim_plain_data", in: "4006381333931\r",
		want: []want{{Data: "4006381333931", Raw: "4006381333931"}}},
	{name: "bracket_not_aim", in: "]-1\r",
		want: []want{{Data: "]-1", Raw: "]-1"}}},
	{name: "aim_only", in: "]Q3\r",
		want: []want{{AIM: "]Q3", Data: "", Raw: "]Q3"}}},
	{name: "qr_digital_link", in: "]Q1https://id.gs1.org/01/09506000134352\r",
		want: []want{{AIM: "]Q1", Data: "https://id.gs1.org/01/09506000134352", Raw: "]Q1https://id.gs1.org/01/09506000134352"}}},
	{name: "ean_composite_kept_whole", in: "]E09501101530003|]e0101234\r",
		want: []want{{AIM: "]E0", Data: "9501101530003|]e0101234", Raw: "]E09501101530003|]e0101234"}}},
	{name: "trailing_gs_kept", in: "]C10109501101530003\x1d\r",
		want: []want{{AIM: "]C1", Data: "0109501101530003\x1d", Raw: "]C10109501101530003\x1d"}}},
	{name: "utf8_data_kept", in: "]Q0Stra\xc3\x9fe\r",
		want: []want{{AIM: "]Q0", Data: "Stra\xc3\x9fe", Raw: "]Q0Stra\xc3\x9fe"}}},

	{name: "cr_mode_lf_is_control", suffix: serialscan.SuffixCR, in: "]E04006381333931\r\n]E096385074\r",
		want: []want{
			{AIM: "]E0", Data: "4006381333931", Raw: "]E04006381333931"},
			{Raw: "\n]E096385074", Bad: serialscan.ErrControlByte},
		}},
	{name: "lf_mode", suffix: serialscan.SuffixLF, in: "]C0ABC\n\n",
		want: []want{{AIM: "]C0", Data: "ABC", Raw: "]C0ABC"}}},
	{name: "lf_mode_cr_is_control", suffix: serialscan.SuffixLF, in: "]C0ABC\r\n",
		want: []want{{Raw: "]C0ABC\r", Bad: serialscan.ErrControlByte}}},
	{name: "crlf_mode", suffix: serialscan.SuffixCRLF, in: "]E04006381333931\r\n",
		want: []want{{AIM: "]E0", Data: "4006381333931", Raw: "]E04006381333931"}}},
	{name: "crlf_mode_lone_cr_refused", suffix: serialscan.SuffixCRLF, in: "12\r34\r\n",
		want: []want{{Raw: "12\r34", Bad: serialscan.ErrControlByte}}},
	{name: "crlf_mode_cr_cr_lf", suffix: serialscan.SuffixCRLF, in: "12\r\r\n",
		want: []want{{Raw: "12\r", Bad: serialscan.ErrControlByte}}},
	{name: "etx_mode_stx_prefix", suffix: serialscan.SuffixETX, prefix: "\x02", in: "\x02]E04006381333931\x03\x02]E496385074\x03",
		want: []want{
			{AIM: "]E0", Data: "4006381333931", Raw: "\x02]E04006381333931"},
			{AIM: "]E4", Data: "96385074", Raw: "\x02]E496385074"},
		}},
	{name: "etx_mode_missing_prefix", suffix: serialscan.SuffixETX, prefix: "\x02", in: "]E04006381333931\x03",
		want: []want{{Raw: "]E04006381333931", Bad: serialscan.ErrMissingPrefix}}},
	{name: "text_prefix_stripped", prefix: "SCN:", in: "SCN:]C1010950110153000310ABC\r\n",
		want: []want{{AIM: "]C1", Data: "010950110153000310ABC", Raw: "SCN:]C1010950110153000310ABC"}}},
	{name: "none_mode_flush_ends", suffix: serialscan.SuffixNone, in: "]E04006381333931",
		want: []want{{AIM: "]E0", Data: "4006381333931", Raw: "]E04006381333931"}}},
	{name: "none_mode_cr_is_control", suffix: serialscan.SuffixNone, in: "]E04006381333931\r",
		want: []want{{Raw: "]E04006381333931\r", Bad: serialscan.ErrControlByte}}},

	{name: "noise_nul_bytes", in: "\x00\x00]E04006381333931\r",
		want: []want{{Raw: "\x00\x00]E04006381333931", Bad: serialscan.ErrControlByte}}},
	{name: "noise_bel_in_data", in: "]C1ABC\x07DEF\r",
		want: []want{{Raw: "]C1ABC\x07DEF", Bad: serialscan.ErrControlByte}}},
	{name: "noise_del", in: "ABC\x7f\r",
		want: []want{{Raw: "ABC\x7f", Bad: serialscan.ErrControlByte}}},
	{name: "noise_xoff_then_good", in: "\x13\r]E04006381333931\r",
		want: []want{
			{Raw: "\x13", Bad: serialscan.ErrControlByte},
			{AIM: "]E0", Data: "4006381333931", Raw: "]E04006381333931"},
		}},
	{name: "max_length_exact_ok", max: 5, in: "]C012345\r",
		want: []want{{AIM: "]C0", Data: "12345", Raw: "]C012345"}}},
	{name: "max_length_one_over", max: 5, in: "]C0123456\r", // kept: prefix+AIM+max bytes
		want: []want{{Raw: "]C012345", Bad: serialscan.ErrTooLong}}},
	{name: "max_length_one_over_no_aim", max: 5, in: "123456\r",
		want: []want{{Raw: "123456", Bad: serialscan.ErrTooLong}}},
	{name: "max_length_overflow_truncated", max: 4, in: "0123456789ABCDEF\r1234\r",
		want: []want{
			{Raw: "0123456", Bad: serialscan.ErrTooLong},
			{Data: "1234", Raw: "1234"},
		}},
}

// suffixes maps the fuzzer's mode byte to a suffix; the catalogue's suffixes are all here.
var suffixes = []serialscan.Suffix{serialscan.SuffixAuto, serialscan.SuffixCR, serialscan.SuffixLF,
	serialscan.SuffixCRLF, serialscan.SuffixETX, serialscan.SuffixNone}

func suffixIndex(s serialscan.Suffix) byte {
	for i, v := range suffixes {
		if v == s {
			return byte(i)
		}
	}
	return 0 // "" is auto
}
