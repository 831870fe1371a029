// Package anomaly flags items whose daily consumption departs from their own history, and
// raises each departure as a consumption_anomaly exception with its evidence.
//
// # Model
//
// Consumption is what left stock to customers (issues) or to loss (scraps), per item and
// depot, summed exactly (edge.Qty) per calendar day in the depot's time zone; a day with
// no movement counts as 0. From an item's first consumption, its first WarmupDays fit a
// level (mean per day), one factor per weekday (mean 1) and a dispersion index (variance
// over mean, at least 1). After that every day is first judged, and learnt only once it
// has left the three days of windows it is judged in: each estimate is an EWMA (a plain
// mean while it has seen fewer than 1/weight days), and one day moves it by at most 3
// standard deviations, so that an anomaly is not learnt as normal before it is flagged
// (learning each day at once let a shift's first two days raise the forecast and widen
// the dispersion by a sixth before its third day was judged). A day's forecast is
// level × factor[weekday]. The level is the ratio of the EWMAs of the consumption and
// of its days' factors, so that a quiet weekday's few units, divided by its small factor,
// do not move it most.
//
// Each day runs seven one-sided tests: surge and drop over the windows of the last 1, 2
// and 3 days, and stopped_moving over the run of days without consumption that ends
// today. A window's total is compared with the Poisson distribution of the window's
// forecast (dispersion 1) or the negative binomial of that mean and variance (above 1),
// its variance widened by the level's own estimation noise; the tails are exact
// (regularized incomplete gamma and beta from gonum's mathext: a slow mover at 0.3 a day
// is judged by counts, not by a normal approximation). The day's budget, Significance,
// is split over the tests (Bonferroni) where it buys detection: 73 % to the three-day
// surge window, 13 % to the three-day drop window (counts are skewed right: a 3σ drop
// lies far in a thin tail and is found at a fraction of the budget), 1 % to each one- and
// two-day window, 10 % to the idle run; so a stable item is flagged on at most about
// Significance of its days. A drop over a window
// with nothing consumed is named stopped_moving. The dispersion is estimated unfloored
// and floored at 1 only where it is used, so a Poisson item is not judged as
// overdispersed. The quantities are exact; only the statistic is floating point.
//
// # Measured
//
// TestInjected3SigmaShiftsAreFoundWithin3DaysAndStableItemsRarelyFlag generates half a
// year of history for items from 5 to 150 units a day, Poisson and overdispersed, with
// weekday seasonality, and shifts each day's mean by 3 of that day's standard deviations
// on a known day, over three seeds. At the default significance (0.0015) 87-89 % of the
// shifts are named in the right direction within three days and stable items raise
// 0.66-0.80 alarms per 100 item-weeks (both logged by every run; the even split over
// seven tests with each day learnt at once, before, found 69-75 % at 0.5). Fast movers
// (40-150 a day) reach 83-97 %, slow ones (5-12 a day) 69-89 %, the slow overdispersed
// ones least. The goal of 90 % within three days at under 1 false alarm per 100
// item-weeks is not met: on the same histories the model finds 88.6 % at 0.83 false
// alarms (significance 0.0018), 89.7 % at 0.98 (0.0022), 91 % at 1.3 (0.003). It is
// close to what three days allow: knowing each item's true mean, weekday factors and
// dispersion, the exact three-day test at the default budget finds 91 % (73 % of the slow
// overdispersed ones: a weekday mean of 6 and variance of 12, shifted by 3σ, still
// overlaps its history in three days; of a flat Poisson(5) item, 87 %: 29 units are
// needed where 15 are expected, and 35 come on average). Most of what the model loses to
// that bound is the dispersion's estimation noise (half a year of history pins it to
// about ±12 %).
// A stop is named stopped_moving at once for a fast mover and after about
// ln(10/significance) ÷ level days for a slow one (TestAnItemThatStops...).
//
// # Episodes and durability
//
// Consecutive flagged days of one direction are one episode, named by its direction and
// first day (the exception's Code, e.g. "surge:2026-10-24"). Watcher.Check judges every
// completed day from the journal alone and raises an exception for each episode begun in
// the last week that has none yet, open or resolved: state derives from the journal and
// the exceptions it holds, so a restart raises nothing twice and a supervisor's dismissal
// stands. History is what the journal still holds: transactions pruned after
// journal.retention no longer count.
//
// # Cost and concurrency
//
// Watcher.Run is one goroutine, owned by its caller and stopped by its context; it reads
// the journal with Scan (short read transactions) once a day and writes only exceptions.
// Nothing runs in the commit path.
package anomaly
