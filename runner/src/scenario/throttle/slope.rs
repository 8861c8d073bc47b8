//! The least-squares slope of points given one at a time: the rate at which a counter
//! grew across the CFS refills of a run (`refills.rs`, `pauses.rs`).
//!
//! Why a fit and not the two ends: the kernel notices an exhausted quota at the next
//! tick and takes the overrun out of the next period, so each refill's counter is off
//! by an overrun in [0, tick). The two ends alone carry two such errors over the span;
//! a fit over every refill of the span averages them (about 30 % less spread with ten
//! refills, more where overruns alternate from one period to the next).

/// Running sums of a least-squares line fit, `x` and `y` in any one unit each.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(super) struct Slope {
    n: u64,
    sx: f64,
    sy: f64,
    sxx: f64,
    sxy: f64,
}

impl Slope {
    pub(super) fn push(&mut self, x: f64, y: f64) {
        self.n += 1;
        self.sx += x;
        self.sy += y;
        self.sxx += x * x;
        self.sxy += x * y;
    }

    /// dy/dx; `None` with fewer than two distinct `x`.
    pub(super) fn slope(&self) -> Option<f64> {
        let n = self.n as f64;
        let var = n * self.sxx - self.sx * self.sx;
        (self.n >= 2 && var > f64::EPSILON * n * self.sxx)
            .then(|| (n * self.sxy - self.sx * self.sy) / var)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_and_alternating_errors_around_it() {
        let mut s = Slope::default();
        assert_eq!(s.slope(), None);
        s.push(1.0, 5.0);
        assert_eq!(s.slope(), None, "one point");
        s.push(1.0, 6.0);
        assert_eq!(s.slope(), None, "one distinct x");
        let mut s = Slope::default();
        for i in 0..10 {
            s.push(i as f64, 3.0 * i as f64 + 1.0);
        }
        assert!((s.slope().expect("slope") - 3.0).abs() < 1e-9);
        // A first point off by +0.4 (one overrun) moves the fit far less than it moves
        // the two-ends estimate.
        let mut fit = Slope::default();
        for i in 0..10 {
            let off = if i == 0 { 0.4 } else { 0.0 };
            fit.push(i as f64, 0.1 * i as f64 + off);
        }
        let two_ends: f64 = (0.9 - 0.4) / 9.0;
        let f = fit.slope().expect("slope");
        assert!(
            (f - 0.1).abs() < (two_ends - 0.1).abs(),
            "fit {f}, ends {two_ends}"
        );
    }
}
