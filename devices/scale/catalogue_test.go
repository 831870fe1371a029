package scale_test

import (
	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/scale"
	"github.com/depotd/depotd/devices/scale/unit"
)

// The byte-level case catalogue: every frame the decoders are tested with, each citing the
// manual or reference line it comes from (devices.md is /work/shared/reference/devices.md,
// "§" its sections). The same cases seed the fuzzers (f.Add, and testdata/fuzz/FuzzXxx/,
// regenerated with `go test -run TestFuzzCorpus -update-corpus`).
//
// want describes the decoded reading: value "" means no weight value; err, when set, is the
// sentinel the decoder must return (errors.Is).

type want struct {
	value   string
	unit    string
	stable  bool
	net     bool
	status  devices.WeightStatus
	deliver bool // the driver delivers a reading for it (false: status-only all-clear, S I...)
	err     error
}

type catCase struct {
	name string
	cite string
	in   string
	unit string // configured unit (toledo-8217 only)
	want want
}

var ok = devices.WeightOK

// sicsCases: MT-SICS response lines. Statuses and error IDs: devices.md §1.1 (MT-SICS
// reference manual "Format of the response with weight value"; Atlantis-Software/mt-sics
// lib/constants.js and test/sics0Test.js; ricado-group/dotnet-mettlertoledo Response.cs).
var sicsCases = []catCase{
	{"stable g", "§1.1 'S S     100.00 g'", "S S     100.00 g\r\n", "", want{value: "100.00", unit: "g", stable: true, status: ok, deliver: true}},
	{"dynamic", "§1.1 sics0Test.js 'S D     129.07 g'", "S D     129.07 g\r\n", "", want{value: "129.07", unit: "g", status: devices.WeightMotion, deliver: true}},
	{"stable kg", "§1.1 weight reply, value right-aligned", "S S      1.234 kg\r\n", "", want{value: "1.234", unit: "kg", stable: true, status: ok, deliver: true}},
	{"negative", "§1.1 ricado SI regex ([0-9.-]+)", "S S     -0.012 kg\r\n", "", want{value: "-0.012", unit: "kg", stable: true, status: ok, deliver: true}},
	{"lb", "§1.1 unit field", "S S       2.50 lb\r\n", "", want{value: "2.50", unit: "lb", stable: true, status: ok, deliver: true}},
	{"oz", "§1.1 unit field", "S S     0.1250 oz\r\n", "", want{value: "0.1250", unit: "oz", stable: true, status: ok, deliver: true}},
	{"no CRLF", "§1.1 line without terminator (split already removed it)", "S S   5.0 kg", "", want{value: "5.0", unit: "kg", stable: true, status: ok, deliver: true}},
	{"overload", "§1.1 'S +' overload", "S +\r\n", "", want{status: devices.WeightOverload, deliver: true}},
	{"underload", "§1.1 'S -' underload", "S -\r\n", "", want{status: devices.WeightUnderload, deliver: true}},
	{"not executable", "§1.1 'S I' busy or stability timeout", "S I\r\n", "", want{}},
	{"mg refused", "§1.1 units other than g/kg/lb/oz", "S S     100.00 mg\r\n", "", want{err: unit.ErrUnsupported}},
	{"no unit", "§1.1 weight reply needs a unit", "S S     100.00\r\n", "", want{err: scale.ErrMalformed}},
	{"two points", "§1.1 value [0-9.-]+ (one point)", "S S 1.2.3 g\r\n", "", want{err: scale.ErrMalformed}},
	{"exponent", "§1.1 value [0-9.-]+ (no exponent)", "S S 1e3 g\r\n", "", want{err: scale.ErrMalformed}},
	{"bad status", "§1.1 statuses S D I + -", "S X 1.00 g\r\n", "", want{err: scale.ErrMalformed}},
	{"control byte", "§1.1 ASCII lines", "S S \x00 1.00 g\r\n", "", want{err: scale.ErrMalformed}},
	{"empty", "§1.1 framing", "\r\n", "", want{err: scale.ErrMalformed}},
	{"overload with value", "§1.1 'S +' has no parameters", "S + 1.00 g\r\n", "", want{err: scale.ErrMalformed}},
}

// sicsOther: replies without a weight, checked for ID and status.
var sicsOther = []struct {
	name, cite, in, id, status string
}{
	{"ES", "§1.1 ES syntax error", "ES\r\n", "ES", ""},
	{"ET", "§1.1 ET transmission error", "ET\r\n", "ET", ""},
	{"EL", "§1.1 EL logical error", "EL\r\n", "EL", ""},
	{"zero done", "§1.1 'Z A'", "Z A\r\n", "Z", "A"},
	{"zero busy", "§1.1 'Z I'", "Z I\r\n", "Z", "I"},
	{"zero upper", "§1.1 'Z +'", "Z +\r\n", "Z", "+"},
	{"zero lower", "§1.1 'Z -'", "Z -\r\n", "Z", "-"},
	{"serial", "§1.1 'I4 A \"1234567\"'", "I4 A \"1234567\"\r\n", "I4", "A"},
	{"tare", "§1.1 T succeeds with S and the tare", "T S     100.00 g\r\n", "T", "S"},
	{"tare query", "§1.1 level 1 TA", "TA A      0.00 g\r\n", "TA", "A"},
	{"tare clear", "§1.1 TAC succeeds with A", "TAC A\r\n", "TAC", "A"},
	{"TI as T", "§1.1 some firmwares answer TI with T (ricado CommandResponse.cs)", "TI S  1.00 g\r\n", "T", "S"},
}

// t8217Cases: Toledo 8217/8213 replies. Weight formats and status byte: devices.md §1.3
// (Mettler Toledo DIVA service manual §6.1.4.2 "W: STX 0WW.WW CR … STX WW.WWWN CR …
// STX?status byte CR", §6.1.4.3 status bits b0 motion, b1 over capacity, b2 under zero,
// b3 outside zero capture, b4 centre of zero, b5 net, b6 always 1; odoo
// SerialScaleDriver.py measureRegexp \x02\s*([0-9.]+)N?\r; Salter Brecknell 3700LP manual
// p.11 for 8213 grams "<STX>0XXXXX<CR>").
var t8217Cases = []catCase{
	{"kg gross", "DIVA §6.1.4.2 'STX WW.WWW CR' gross kg", "\x0201.234\r", "kg", want{value: "1.234", unit: "kg", stable: true, status: ok, deliver: true}},
	{"kg net", "DIVA §6.1.4.2 'STX WW.WWWN CR' net kg", "\x0201.234N\r", "kg", want{value: "1.234", unit: "kg", stable: true, net: true, status: ok, deliver: true}},
	{"lb gross", "DIVA §6.1.4.2 'STX 0WW.WW CR' gross lb", "\x02001.25\r", "lb", want{value: "1.25", unit: "lb", stable: true, status: ok, deliver: true}},
	{"lb net", "DIVA §6.1.4.2 'STX 0WW.WWN CR'", "\x02012.50N\r", "lb", want{value: "12.50", unit: "lb", stable: true, net: true, status: ok, deliver: true}},
	{"8213 grams", "Brecknell 3700LP p.11 '<STX>0XXXXX<CR>' grams", "\x02001234\r", "g", want{value: "1234", unit: "g", stable: true, status: ok, deliver: true}},
	{"8213 ounces", "Brecknell 3700LP p.11 '<STX>XXX.XX<CR>' ounces", "\x02004.90\r", "oz", want{value: "4.90", unit: "oz", stable: true, status: ok, deliver: true}},
	{"leading spaces", "odoo measureRegexp \\x02\\s*([0-9.]+)N?\\r", "\x02  1.234\r", "kg", want{value: "1.234", unit: "kg", stable: true, status: ok, deliver: true}},
	{"parity bits", "§1.2/§1.3 b7 is parity under 7E1 (read on an 8N1 port)", "\x82\xb001.234\x8d", "kg", want{value: "1.234", unit: "kg", stable: true, status: ok, deliver: true}},
	{"status all ok", "§1.3 'All OK is ?@ (0x40)'", "\x02?@\r", "kg", want{stable: true, status: ok}},
	{"status motion", "DIVA §6.1.4.3 b0 motion: 0x41 'A'", "\x02?A\r", "kg", want{status: devices.WeightMotion, deliver: true}},
	{"status over", "DIVA §6.1.4.3 b1 over capacity: 0x42 'B'", "\x02?B\r", "kg", want{status: devices.WeightOverload, deliver: true}},
	{"status under", "DIVA §6.1.4.3 b2 under zero: 0x44 'D'", "\x02?D\r", "kg", want{status: devices.WeightUnderload, deliver: true}},
	{"status motion net", "DIVA §6.1.4.3 b0|b5: 0x61 'a'", "\x02?a\r", "kg", want{net: true, status: devices.WeightMotion, deliver: true}},
	{"status centre zero", "DIVA §6.1.4.3 b4 centre of zero: 0x50 'P'", "\x02?P\r", "kg", want{stable: true, status: ok}},
	{"status over+motion", "DIVA §6.1.4.3 b0|b1: 0x43; overload wins", "\x02?C\r", "kg", want{status: devices.WeightOverload, deliver: true}},
	{"status parity", "§1.3 b7 even parity: 0xC1 = motion with parity", "\x02?\xc1\r", "kg", want{status: devices.WeightMotion, deliver: true}},
	{"status without b6", "§1.3 b6 always 1 (odoo '== 0' pitfall)", "\x02?\x00\r", "kg", want{err: scale.ErrMalformed}},
	{"status long", "§1.3 'STX ? <status> CR' is one byte", "\x02?@@\r", "kg", want{err: scale.ErrMalformed}},
	{"signed", "DIVA §6.1.4.2 negative weight comes as a status", "\x02-1.234\r", "kg", want{err: scale.ErrMalformed}},
	{"two points", "odoo regex [0-9.]+ (one number)", "\x021.2.3\r", "kg", want{err: scale.ErrMalformed}},
	{"empty", "§1.3 STX weight CR", "\x02\r", "kg", want{err: scale.ErrMalformed}},
	{"no STX", "§1.3 frame starts with STX", "01.234\r", "kg", want{err: scale.ErrMalformed}},
	{"no CR", "§1.3 frame ends with CR", "\x0201.234", "kg", want{err: scale.ErrMalformed}},
	{"letters", "§1.3 weight digits", "\x02ab.cde\r", "kg", want{err: scale.ErrMalformed}},
	{"bad unit", "config unit must be g, kg, lb, oz", "\x0201.234\r", "mg", want{err: unit.ErrUnsupported}},
}

// nciCases: NCI/Weigh-Tronix SCP-01 replies. devices.md §1.4 (Weigh-Tronix 8408-14788-01
// via RichardChambers/anduino_uno scalesimulator; Avery Weigh-Tronix 7821 manual p.25
// "W<CR> → <LF>xxxx.xxuu<CR><LF>hh…<CR><ETX>", "?" for unknown commands; status byte 1:
// b0 motion, b1 at zero, b2 RAM, b3 EEPROM, b4=b5=1, b6=0; byte 2: b0 under, b1 over,
// b2 ROM, b3 calibration; byte 3: b2 net, b3 initial zero error); SCP-02 "S" prefix and
// upper-case units: Ohaus Aviator 7000 service manual p.47; grams "<LF>_XXXXg_<CR>":
// Salter Brecknell 3700LP manual p.11.
var nciCases = []catCase{
	{"stable lb", "§1.4 [constructed] 0A 30 30 30 31 2E 32 35 6C 62 0D 0A 30 30 0D 03", "\n0001.25lb\r\n00\r\x03", "", want{value: "1.25", unit: "lb", stable: true, status: ok, deliver: true}},
	{"stable kg", "7821 p.25 xxxx.xxuu", "\n0012.34kg\r\n00\r\x03", "", want{value: "12.34", unit: "kg", stable: true, status: ok, deliver: true}},
	{"at zero", "§1.4 'at zero it gives 20'", "\n0000.00lb\r\n20\r\x03", "", want{value: "0.00", unit: "lb", stable: true, status: ok, deliver: true}},
	{"motion", "§1.4 byte 1 b0 motion: '1' (0x31)", "\n0001.25lb\r\n10\r\x03", "", want{value: "1.25", unit: "lb", status: devices.WeightMotion, deliver: true}},
	{"status only zero", "7821 p.25 S<CR> → <LF>hh<CR><ETX>", "\n20\r\x03", "", want{stable: true, status: ok}},
	{"status only over", "§1.4 byte 2 b1 over capacity: '2' (0x32)", "\n02\r\x03", "", want{status: devices.WeightOverload, deliver: true}},
	{"status only under", "§1.4 byte 2 b0 under capacity: '1' (0x31)", "\n01\r\x03", "", want{status: devices.WeightUnderload, deliver: true}},
	{"over with dashes", "Ohaus Aviator p.47 'x … out-of range characters'", "\n^^^^^^^lb\r\n02\r\x03", "", want{status: devices.WeightOverload, deliver: true}},
	{"three bytes net", "§1.4 optional byte 3 b2 net: '4' (0x34)", "\n0001.25kg\r\n004\r\x03", "", want{value: "1.25", unit: "kg", stable: true, net: true, status: ok, deliver: true}},
	{"RAM error", "§1.4 byte 1 b2 RAM error: '4' (0x34)", "\n0001.25lb\r\n40\r\x03", "", want{value: "1.25", unit: "lb", status: devices.WeightError, deliver: true}},
	{"calibration", "§1.4 byte 2 b3 bad calibration: '8' (0x38)", "\n0001.25lb\r\n08\r\x03", "", want{value: "1.25", unit: "lb", status: devices.WeightError, deliver: true}},
	{"scp-02", "§1.4 SCP-02 '<LF>xx.xxxUU<CR><LF>Shh<CR><ETX>'", "\n01.250KG\r\nS00\r\x03", "", want{value: "1.250", unit: "kg", stable: true, status: ok, deliver: true}},
	{"grams", "3700LP p.11 '<LF>_XXXXg_<CR><LF>[HL]<CR><ETX>'", "\n 1234g \r\n00\r\x03", "", want{value: "1234", unit: "g", stable: true, status: ok, deliver: true}},
	{"negative", "7821 p.25 'x … including minus sign'", "\n-000.50lb\r\n00\r\x03", "", want{value: "-0.50", unit: "lb", stable: true, status: ok, deliver: true}},
	{"parity", "§1.4 b7 parity", "\x8a0001.25lb\x8d\x8a\xb0\xb0\x8d\x83", "", want{value: "1.25", unit: "lb", stable: true, status: ok, deliver: true}},
	{"unknown command", "7821 p.25 '<LF>?<CR><ETX>'", "\n?\r\x03", "", want{}},
	{"lb-oz refused", "Ohaus Aviator p.47 '<LF>xLB<SP>xx.xOZ<CR>' compound unit", "\n1LB 02.5OZ\r\n00\r\x03", "", want{err: scale.ErrMalformed}},
	{"status bits 4-5", "§1.4 b4=b5=1 in every status byte", "\n0001.25lb\r\nA0\r\x03", "", want{err: scale.ErrMalformed}},
	{"status byte1 b6", "§1.4 byte 1 b6 = 0", "\n0001.25lb\r\np0\r\x03", "", want{err: scale.ErrMalformed}},
	{"one status byte", "§1.4 two status bytes", "\n0001.25lb\r\n0\r\x03", "", want{err: scale.ErrMalformed}},
	{"no ETX", "7821 p.25 frame ends CR ETX", "\n0001.25lb\r\n00\r", "", want{err: scale.ErrMalformed}},
	{"no unit", "7821 p.25 xxxx.xxuu", "\n0001.25\r\n00\r\x03", "", want{err: scale.ErrMalformed}},
	{"mg", "7821 p.25 uu ANSI units; depotd takes g, kg, lb, oz", "\n0001.25mg\r\n00\r\x03", "", want{err: unit.ErrUnsupported}},
	{"three parts", "7821 p.25 at most weight and status lines", "\n1.00lb\r\n00\r\n00\r\x03", "", want{err: scale.ErrMalformed}},
}

// contCases: Toledo continuous frames STX SWA SWB SWC W×6 T×6 CR [CKS]. devices.md §1.2
// (Mettler Toledo Wildcat technical manual appendix 2 and tables 6-9…6-11: SWA b0-2
// decimal point 0 = XXXX00 … 7 = X.XXXXX, b3-4 increment, b5=1; SWB b0 net, b1 negative,
// b2 out of range, b3 motion, b4 kg, b5=1, b6 power-up not zeroed; SWC b0 grams, b5=1;
// checksum = 2's complement of the 7 low bits of the sum of all preceding characters;
// Rockwell 57C428 appendix D).
var contCases = []catCase{
	{"stable kg cks", "§1.2 [constructed] 02 2D 30 20 30 30 31 32 33 34 30 30 30 30 30 30 0D 2A", "\x02\x2d\x30\x20001234000000\r\x2a", "", want{value: "1.234", unit: "kg", stable: true, status: ok, deliver: true}},
	{"stable kg no cks", "§1.2 17-byte variant (Cardinal 225: no CKS)", "\x02\x2d\x30\x20001234000000\r", "", want{value: "1.234", unit: "kg", stable: true, status: ok, deliver: true}},
	{"bad checksum", "§1.2 CKS", "\x02\x2d\x30\x20001234000000\r\x2b", "", want{err: scale.ErrChecksum}},
	{"motion", "§1.2 SWB b3 motion (0x38)", "\x02\x2d\x38\x20001234000000\r\x22", "", want{value: "1.234", unit: "kg", status: devices.WeightMotion, deliver: true}},
	{"net with tare", "§1.2 SWB b0 net (0x31), tare field", "\x02\x2d\x31\x20001234000500\r\x24", "", want{value: "1.234", unit: "kg", stable: true, net: true, status: ok, deliver: true}},
	{"negative", "§1.2 SWB b1 negative (0x32)", "\x02\x2d\x32\x20001234000000\r\x28", "", want{value: "-1.234", unit: "kg", stable: true, status: ok, deliver: true}},
	{"out of range", "§1.2 SWB b2 out of range (0x34)", "\x02\x2d\x34\x20999999000000\r\x7a", "", want{value: "999.999", unit: "kg", status: devices.WeightOverload, deliver: true}},
	{"under range", "§1.2 SWB b1|b2 negative and out of range (0x36)", "\x02\x2d\x36\x20000100000000\r\x2d", "", want{value: "-0.100", unit: "kg", status: devices.WeightUnderload, deliver: true}},
	{"lb", "§1.2 SWB b4=0 lb, SWA code 4 XXXX.XX (0x2C)", "\x02\x2c\x20\x20000125000000\r\x3d", "", want{value: "1.25", unit: "lb", stable: true, status: ok, deliver: true}},
	{"grams", "§1.2 SWC b0 grams (0x21), SWA code 2 XXXXXX (0x2A)", "\x02\x2a\x30\x21001234000000\r\x2c", "", want{value: "1234", unit: "g", stable: true, status: ok, deliver: true}},
	{"tens", "§1.2 SWA code 0 XXXX00 (0x28)", "\x02\x28\x20\x20000012000000\r\x46", "", want{value: "1200", unit: "lb", stable: true, status: ok, deliver: true}},
	{"power-up", "§1.2 SWB b6 power-up not zeroed (0x70)", "\x02\x2d\x70\x20001234000000\r\x6a", "", want{value: "1.234", unit: "kg", status: devices.WeightError, deliver: true}},
	{"parity", "§1.2 b7 is parity under 7E1", "\x82\x2d\xb0\xa0\xb0\xb0\xb1\xb2\xb3\xb4\xb0\xb0\xb0\xb0\xb0\xb0\x8d\xaa", "", want{value: "1.234", unit: "kg", stable: true, status: ok, deliver: true}},
	{"SWA fixed bits", "§1.2 SWA b5=1 b6=0", "\x02\x0d\x30\x20001234000000\r", "", want{err: scale.ErrMalformed}},
	{"SWB fixed bit", "§1.2 SWB b5=1", "\x02\x2d\x10\x20001234000000\r", "", want{err: scale.ErrMalformed}},
	{"letter digit", "§1.2 six digits", "\x02\x2d\x30\x200012A4000000\r", "", want{err: scale.ErrMalformed}},
	{"short", "§1.2 17 or 18 bytes", "\x02\x2d\x30\x2000123400000\r", "", want{err: scale.ErrMalformed}},
	{"no STX", "§1.2 STX first", "\x03\x2d\x30\x20001234000000\r", "", want{err: scale.ErrMalformed}},
	{"no CR", "§1.2 CR at byte 17", "\x02\x2d\x30\x20001234000000\n", "", want{err: scale.ErrMalformed}},
}
