package anomaly

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// Direction names how consumption departs from its history.
type Direction string

const (
	Surge   Direction = "surge"          // more consumed than the history explains
	Drop    Direction = "drop"           // less consumed than the history explains
	Stopped Direction = "stopped_moving" // nothing consumed for longer than the history explains
)

// Params tune the model. The zero value is not usable; DefaultParams are the documented
// defaults, and Config.params derives them from the depot config.
type Params struct {
	// Significance is the chance, per item and day, that an item whose consumption has not
	// changed is flagged anyway: the budget is split (Bonferroni, in the shares stopShare, surgeShare and dropShare)
	// over the tests run each day, so the false-alarm rate stays at or below it.
	Significance float64
	// WarmupDays of history are needed before an item is judged at all.
	WarmupDays int
	// LevelRate, SeasonRate and DispersionRate are the EWMA weights of the newest day for
	// the level, the weekday factors and the dispersion index.
	LevelRate, SeasonRate, DispersionRate float64
}

// DefaultParams are the defaults of Config. The EWMA weights are small, so that a slow
// mover's forecast carries little of its own noise (halving them from 0.03, 0.03 and 0.01
// found 1-2 % more of the generated shifts at the same false alarms); a lasting change in
// an item's consumption takes correspondingly longer, about 2/weight days, to become its
// normal.
var DefaultParams = Params{
	Significance:   0.0035,
	WarmupDays:     28,
	LevelRate:      0.015,
	SeasonRate:     0.015,
	DispersionRate: 0.005,
}

const (
	// maxWindow is the longest run of days a surge or drop is judged over: a shift is to
	// be named within three days of its start.
	maxWindow = 3
	// maxStopRun is the longest run of days without consumption remembered: longer runs
	// are judged as this long (a slow mover at 0.1 a day needs about 85 idle days before
	// its stop is significant at the default budget).
	maxStopRun = 120
	// stopShare is the share of Significance spent on the idle run's test.
	stopShare = 0.1
	// clip bounds how far one day moves the estimates, in standard deviations, so that
	// an anomaly is not learned as normal before it is flagged.
	clip = 3
	// minFactor is the smallest weekday factor: a day closed so far still forecasts a
	// fiftieth of the level.
	minFactor = 0.02
	// dispKept is the share of its variance a normal variable keeps when clipped at
	// ±clip σ.
	dispKept = 0.973
)

// The shares of Significance each test spends per day (they sum to 1): the idle run
// stopShare, surge and drop over the last k days surgeShare[k] and dropShare[k]. A 3σ
// shift is to be found within three days, and a three-day window holds its evidence best
// (9σ of departure against a window's √3σ of noise, where one day holds 3σ against σ),
// so the budget is spent there: splitting it evenly over the windows, as a plain
// Bonferroni split would, found 5-8 % fewer of the generated shifts at the same false
// alarms. The one- and two-day windows keep a sliver, for departures so large a day
// shows them. Surges get most of it: consumption is skewed to the right (Poisson,
// negative binomial), so a 3σ drop is already far in its history's thin left tail and
// is found at a fraction of the budget (knowing an item's true parameters, the
// three-day test at 0.13 of it finds 97-99 % of 3σ drops), while a 3σ surge must stand out
// of the long right tail; spending 0.73 on surges and 0.13 on drops, rather than 0.43 on
// each, found 2 % more of the shifts at the same false alarms.
var (
	surgeShare = [maxWindow + 1]float64{1: 0.01, 2: 0.01, 3: 0.73}
	dropShare  = [maxWindow + 1]float64{1: 0.01, 2: 0.01, 3: 0.13}
)

// Flag is one day's finding: its direction and its evidence.
type Flag struct {
	Direction Direction
	// Days is the window judged, ending on the day observed.
	Days int
	// Expected is the window's forecast consumption, Observed what was consumed.
	Expected, Observed float64
	// P is the probability of a window at least this extreme under the history.
	P float64
	// Threshold is the significance of the test that flagged, which P fell below.
	Threshold float64
}

func (f Flag) String() string {
	return fmt.Sprintf("%s over %d day(s): expected %.4g, observed %.4g (p=%.2g < %.2g)",
		f.Direction, f.Days, f.Expected, f.Observed, f.P, f.Threshold)
}

// step is one judged day: its forecast, what was consumed, the level the forecast was
// made from, and its weekday.
type step struct {
	mu, x, level float64
	wd           time.Weekday
}

// Model is the consumption model of one item at one depot, fed one day at a time. It is
// not safe for concurrent use.
//
// The forecast of a day is level × factor[weekday]: level is an EWMA of the deseasonalised
// consumption, factor an EWMA of each weekday's share (mean 1). The variance of a day is
// dispersion × forecast, dispersion being an EWMA of squared residual over forecast,
// floored at 1 (Poisson). A window's forecast is the sum of its days' one-step forecasts,
// its variance inflated by the estimation noise of the level, the factors and the
// dispersion, and its observed total is
// tested against the Poisson or negative binomial distribution of that mean and variance.
type Model struct {
	p     Params
	warm  []step // observations during warm-up, x only, with their weekday in mu
	ready bool
	level float64
	// sx and sf are EWMAs of the consumption and of its days' weekday factors: their
	// ratio is the level. Averaging x/factor instead would let a quiet weekday's few
	// units, divided by its small factor, move the level most: the ratio weighs each day
	// by what it holds (a slow mover's level is 20-30 % less noisy).
	sx, sf float64
	factor [7]float64
	disp   float64
	recent []step // newest last, at most maxStopRun
	// unlearnt is how many of the newest days in recent are not learnt yet: a day is
	// learnt only once it has left every window it is judged in (maxWindow days), so
	// the first days of a shift neither raise the forecast nor widen the band that the
	// later windows of the same shift are judged against.
	unlearnt int
	// days and seen count the days learnt from since warm-up, in all and per weekday:
	// until an EWMA's weight falls below 1/n it is the plain mean of the n days, so the
	// first estimates are not stuck with the warm-up's few samples of each weekday.
	days int
	seen [7]int
	// widen holds, per test, (z²+1)/2 for the normal quantile z of its threshold: see
	// tWiden.
	widenSurge, widenDrop [maxWindow + 1]float64
}

// NewModel starts an empty model.
func NewModel(p Params) *Model {
	m := &Model{p: p}
	for k := 1; k <= maxWindow; k++ {
		m.widenSurge[k] = widening(p.Significance * surgeShare[k])
		m.widenDrop[k] = widening(p.Significance * dropShare[k])
	}
	return m
}

func widening(alpha float64) float64 {
	z := distuv.UnitNormal.Quantile(1 - alpha)
	return (z*z + 1) / 2
}

// Observe feeds one day's consumption (x ≥ 0) and returns that day's flag, if any. Days
// must be fed in order without gaps; a day with no movement is x = 0.
func (m *Model) Observe(day time.Weekday, x float64) (Flag, bool) {
	if x < 0 {
		x = 0
	}
	if !m.ready {
		m.warm = append(m.warm, step{mu: float64(day), x: x})
		if len(m.warm) >= m.p.WarmupDays {
			m.start()
		}
		return Flag{}, false
	}
	m.recent = append(m.recent, step{mu: m.forecast(day), x: x, level: m.level, wd: day})
	if len(m.recent) > maxStopRun {
		m.recent = m.recent[1:]
	}
	m.unlearnt++
	f, ok := m.judge()
	if m.unlearnt == maxWindow {
		s := m.recent[len(m.recent)-maxWindow]
		m.learn(s.wd, m.forecast(s.wd), s.x)
		m.unlearnt--
	}
	return f, ok
}

// start fits the first estimates from the warm-up days: the mean, each weekday's share
// of it, and the dispersion of the days around that fit.
func (m *Model) start() {
	var sum float64
	var wsum, wn [7]float64
	for _, s := range m.warm {
		sum += s.x
		wsum[int(s.mu)] += s.x
		wn[int(s.mu)]++
	}
	m.level = sum / float64(len(m.warm))
	m.sx, m.sf = m.level, 1
	if m.level <= 0 {
		// Nothing moved yet: keep waiting for a history to judge against.
		m.warm = m.warm[1:]
		return
	}
	for d := range m.factor {
		m.factor[d] = 1
		if wn[d] > 0 {
			m.factor[d] = math.Max(wsum[d]/wn[d]/m.level, minFactor)
		}
	}
	m.normalise()
	var d2 float64
	for _, s := range m.warm {
		mu := m.forecast(time.Weekday(s.mu))
		d2 += (s.x - mu) * (s.x - mu) / mu
	}
	// Eight parameters were fitted to the warm-up days: the residuals' degrees of
	// freedom are that many fewer.
	m.disp = d2 / float64(len(m.warm)-8)
	m.ready = true
	m.warm = nil
}

func (m *Model) normalise() {
	var s float64
	for _, f := range m.factor {
		s += f
	}
	for d := range m.factor {
		m.factor[d] *= 7 / s
	}
}

// forecast is the expected consumption of a day. It is never quite 0 (a weekday factor
// is at least minFactor): a weekday that has never seen consumption must not make one
// unit on it infinitely surprising.
func (m *Model) forecast(day time.Weekday) float64 {
	return m.level * m.factor[day]
}

// tWiden is the factor by which a test's variance is widened because the dispersion is
// itself estimated, from nu degrees of freedom: a Student t's quantile is, to first
// order, z + (z³+z)/4ν, so its square is z²·(1 + (z²+1)/2ν). widen is (z²+1)/2 of the
// test's threshold. A young model (28 days, 20 degrees of freedom) is judged a quarter
// wider at the three-day threshold; a model of half a year, 4 % wider.
func (m *Model) tWiden(widen float64) float64 {
	n := m.days + m.p.WarmupDays
	nu := float64(n - 8)
	if r := m.p.DispersionRate; 1/float64(n) <= r {
		// An EWMA of weight r averages about (2-r)/r days.
		nu = (2 - r) / r
	}
	return 1 + widen/nu
}

// ewmaVar is the variance of an estimate that is the plain mean of its first 1/r days
// and then an EWMA of weight r (see rate), as a share of one day's variance, after n
// days.
func ewmaVar(r float64, n int) float64 {
	if 1/float64(n) > r {
		return 1 / float64(n)
	}
	return r / (2 - r)
}

func rate(r float64, n int) float64 { return math.Max(r, 1/float64(n)) }

func (m *Model) learn(day time.Weekday, mu, x float64) {
	sd := math.Sqrt(m.dispersion() * mu)
	xc := math.Min(math.Max(x, mu-clip*sd), mu+clip*sd)
	m.days++
	m.seen[day]++
	// The warm-up days count as seen: WarmupDays in all, a seventh of them per weekday.
	n, nd := m.days+m.p.WarmupDays, m.seen[day]+m.p.WarmupDays/7
	a := rate(m.p.LevelRate, n)
	m.sx += a * (xc - m.sx)
	m.sf += a * (m.factor[day] - m.sf)
	m.level = m.sx / m.sf
	if m.level > 0 {
		m.factor[day] += rate(m.p.SeasonRate, nd) * (xc/m.level - m.factor[day])
		m.factor[day] = math.Max(m.factor[day], minFactor)
		m.normalise()
	}
	// The dispersion learns slowly (DispersionRate is small), so that a shift that has
	// begun but is not yet flagged does not widen the very band it is judged against.
	r := xc - mu
	m.disp += rate(m.p.DispersionRate, n) * (r*r/mu/dispKept - m.disp)
}

// dispersion is the dispersion index the tests use: the estimate, floored at 1 (Poisson).
// The floor is applied here and not to the estimate itself: flooring each step would let
// the days below 1 never pull it back, and bias a Poisson item's index upwards.
func (m *Model) dispersion() float64 { return math.Max(1, m.disp) }

// judge runs the day's tests on the windows ending today and returns the finding most
// significant for its test (smallest P/Threshold). An idle run that is significant is named stopped_moving, before
// any drop over the same days.
func (m *Model) judge() (Flag, bool) {
	alpha := m.p.Significance * stopShare
	// The level is itself an estimate: a plain mean of n days has a variance of 1/n
	// times a day's, an EWMA of weight a of a/(2-a), which adds to each day of a window
	// in full (the same level serves all of them). Taking a/(2-a) from the first day, as
	// before, judged a young model as if it knew its level to 0.8 %: most false alarms
	// came from the weeks after warm-up.
	noise := ewmaVar(m.p.LevelRate, m.days+m.p.WarmupDays)
	var best Flag
	found := false
	consider := func(f Flag) {
		if f.P < f.Threshold && (!found || f.P/f.Threshold < best.P/best.Threshold) {
			best, found = f, true
		}
	}
	n := len(m.recent)
	idle := 0
	var idleMean float64
	for i := n - 1; i >= 0 && m.recent[i].x == 0; i-- {
		idle++
	}
	// The level decays during the idle run itself (each empty day is learnt): the run is
	// judged against the level from before it, or a slow mover's stop would keep hiding
	// behind its own fading forecast.
	for i := n - idle; i < n; i++ {
		idleMean += m.recent[i].mu * m.recent[n-idle].level / m.recent[i].level
	}
	if idle > 0 {
		c := counts{mean: idleMean, disp: m.dispersion() * (1 + float64(idle)*noise)}
		if p := c.zero(); p < alpha {
			return Flag{Direction: Stopped, Days: idle, Expected: idleMean, P: p, Threshold: alpha}, true
		}
	}
	// fv is the variance the weekday factors' own estimation adds to the window, as a
	// share of the dispersion: a factor is the mean of its weekday's n days, so it adds
	// 1/n of that day's variance (a thirtieth after half a year, more than the level's
	// noise; left out, a slow mover's quiet weekday, its factor estimated low, raised
	// most of its false alarms).
	var e, o, fv float64
	// The window's days are forecast from the estimates learnt up to the day before it.
	for k := 1; k <= m.unlearnt; k++ {
		s := m.recent[n-k]
		mu := m.forecast(s.wd)
		e += mu
		o += s.x
		fv += mu * ewmaVar(m.p.SeasonRate, m.seen[s.wd]+m.p.WarmupDays/7)
		d := m.dispersion() * (1 + float64(k)*noise + fv/e)
		as, ad := m.p.Significance*surgeShare[k], m.p.Significance*dropShare[k]
		cs := counts{mean: e, disp: d * m.tWiden(m.widenSurge[k])}
		cd := counts{mean: e, disp: d * m.tWiden(m.widenDrop[k])}
		consider(Flag{Direction: Surge, Days: k, Expected: e, Observed: o, P: cs.atLeast(o), Threshold: as})
		consider(Flag{Direction: Drop, Days: k, Expected: e, Observed: o, P: cd.atMost(o), Threshold: ad})
	}
	if best.Direction == Drop && best.Observed == 0 {
		// Nothing at all was consumed over the window: that is a stop, whichever test
		// saw it first.
		best.Direction = Stopped
	}
	return best, found
}
