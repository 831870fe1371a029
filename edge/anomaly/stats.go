package anomaly

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// counts is the distribution of a window's consumption: Poisson with mean mean when disp
// is 1, otherwise negative binomial with the same mean and variance disp·mean (disp, the
// dispersion index, is never below 1: an item steadier than Poisson is judged as Poisson,
// which only errs on the side of fewer flags). The tails are regularized incomplete gamma
// and beta functions (gonum's mathext), so they are exact for every mean, large or small,
// and extend continuously to quantities that are not whole numbers (kilograms).
type counts struct{ mean, disp float64 }

// atMost is P(X ≤ x).
func (c counts) atMost(x float64) float64 {
	if x < 0 {
		return 0
	}
	if c.mean <= 0 {
		return 1
	}
	if c.disp <= 1 {
		return mathext.GammaIncRegComp(x+1, c.mean)
	}
	r, q := c.nb()
	return mathext.RegIncBeta(r, x+1, q)
}

// atLeast is P(X ≥ x).
func (c counts) atLeast(x float64) float64 {
	if x <= 0 {
		return 1
	}
	if c.mean <= 0 {
		return 0
	}
	if c.disp <= 1 {
		return mathext.GammaIncReg(x, c.mean)
	}
	r, q := c.nb()
	return mathext.RegIncBeta(x, r, 1-q)
}

// zero is P(X = 0).
func (c counts) zero() float64 {
	if c.disp <= 1 {
		return math.Exp(-c.mean)
	}
	r, q := c.nb()
	return math.Exp(r * math.Log(q))
}

// nb gives the negative binomial's size r and success probability q for the mean and the
// dispersion index: mean r(1-q)/q, variance mean/q.
func (c counts) nb() (r, q float64) {
	q = 1 / c.disp
	return c.mean / (c.disp - 1), q
}
