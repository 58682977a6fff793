//! Exact samplers for the bootstrap: multinomial vote counts as a chain of
//! binomials or from an alias table, and the binomial variates themselves.

use rand::Rng;

/// Multinomial draws of `n` votes over categories with given weights.
/// Drawing votes one at a time from an alias table costs `O(n)`; the chain
/// of conditional binomials costs `O(categories)` whatever `n` is, but each
/// binomial variate is several times dearer than an alias draw. The cheaper
/// of the two is chosen once; both are exact.
pub(super) enum VoteSampler {
    Alias {
        n: u64,
        prob: Vec<f64>,
        alias: Vec<usize>,
    },
    Chain {
        n: u64,
        weights: Vec<f64>,
        suffix: Vec<f64>,
    },
}

impl VoteSampler {
    pub(super) fn new(n: u64, weights: &[f64]) -> Self {
        if n <= 4 * weights.len() as u64 {
            Self::alias(n, weights)
        } else {
            Self::chain(n, weights)
        }
    }

    pub(super) fn chain(n: u64, weights: &[f64]) -> Self {
        let mut suffix = vec![0.0; weights.len()];
        let mut acc = 0.0;
        for (sfx, w) in suffix.iter_mut().zip(weights).rev() {
            acc += w;
            *sfx = acc;
        }
        Self::Chain {
            n,
            weights: weights.to_vec(),
            suffix,
        }
    }

    /// Vose's alias table: each slot keeps its own category with
    /// probability `prob[slot]` and otherwise yields `alias[slot]`.
    pub(super) fn alias(n: u64, weights: &[f64]) -> Self {
        let c = weights.len();
        let total: f64 = weights.iter().sum();
        let mut prob: Vec<f64> = weights.iter().map(|w| w * c as f64 / total).collect();
        let mut alias: Vec<usize> = (0..c).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..c).partition(|&i| prob[i] < 1.0);
        while let (Some(&l), Some(sm)) = (large.last(), small.pop()) {
            alias[sm] = l;
            prob[l] = (prob[l] + prob[sm]) - 1.0;
            if prob[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Whatever is left is 1 up to rounding.
        for i in small.into_iter().chain(large) {
            prob[i] = 1.0;
        }
        Self::Alias { n, prob, alias }
    }

    pub(super) fn draw<R: Rng>(&self, rng: &mut R, out: &mut [u64]) {
        match self {
            Self::Chain { n, weights, suffix } => multinomial(rng, *n, weights, suffix, out),
            Self::Alias { n, prob, alias } => {
                out.fill(0);
                let c = prob.len() as u64;
                for _ in 0..*n {
                    let slot = below(rng, c) as usize;
                    let cat = if uniform(rng) < prob[slot] {
                        slot
                    } else {
                        alias[slot]
                    };
                    out[cat] += 1;
                }
            }
        }
    }
}

/// Uniform integer in `[0, n)`, `n > 0`, by multiply-and-reject: exact,
/// rejecting fewer than `n / 2^64` of the draws.
fn below<R: Rng>(rng: &mut R, n: u64) -> u64 {
    let threshold = n.wrapping_neg() % n;
    loop {
        let m = u128::from(rng.next_u64()) * u128::from(n);
        if (m as u64) >= threshold {
            return (m >> 64) as u64;
        }
    }
}

/// Fills `out` with a multinomial draw of `n` trials over categories with
/// the given weights; `suffix[c]` is the sum of `weights[c..]`.
fn multinomial<R: Rng>(rng: &mut R, n: u64, weights: &[f64], suffix: &[f64], out: &mut [u64]) {
    let mut left = n;
    let last = weights.len().saturating_sub(1);
    for (c, ((w, sfx), o)) in weights.iter().zip(suffix).zip(out.iter_mut()).enumerate() {
        if left == 0 {
            *o = 0;
            continue;
        }
        let x = if c == last {
            left
        } else {
            binomial(rng, left, w / sfx)
        };
        *o = x;
        left -= x;
    }
}

/// Uniform on [0, 1) with 53 random bits.
fn uniform<R: Rng>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Exact `Binomial(n, p)` variate; `p` outside (0, 1) is clamped.
pub(super) fn binomial<R: Rng>(rng: &mut R, n: u64, p: f64) -> u64 {
    if n == 0 || p.is_nan() || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    // Both methods below need p ≤ 1/2; the count of failures is the mirror.
    if p > 0.5 {
        return n - binomial(rng, n, 1.0 - p);
    }
    if n as f64 * p < 10.0 {
        binomial_inversion(rng, n, p)
    } else {
        binomial_btrs(rng, n, p)
    }
}

/// Sequential search of the CDF from 0; expected cost `O(n·p)`, used only
/// for `n·p < 10`. The search is cut at 10 standard deviations above the
/// mean and restarted, which only guards against rounding leftovers: the
/// mass beyond that point is below 1e-20.
fn binomial_inversion<R: Rng>(rng: &mut R, n: u64, p: f64) -> u64 {
    let q = 1.0 - p;
    let nf = n as f64;
    let p0 = (nf * (-p).ln_1p()).exp();
    let ratio = p / q;
    let mean = nf * p;
    // With n·p < 10 and p ≤ ½ the bound stays below 10 + 10·√11 < 44, so the
    // reciprocals come from a table: a division per step would dominate.
    let bound = (mean + 10.0 * (mean * q + 1.0).sqrt()).min(nf) as u64;
    let inv = reciprocals();
    for _ in 0..1000 {
        let mut u = uniform(rng);
        let mut x = 0u64;
        let mut px = p0;
        while u > px {
            x += 1;
            if x > bound {
                break;
            }
            u -= px;
            px *= (n - x + 1) as f64 * ratio * inv[x as usize];
        }
        if x <= bound {
            return x;
        }
    }
    // Unreachable in practice (each restart has probability < 1e-15); the
    // mode keeps the function total.
    ((nf + 1.0) * p).floor() as u64
}

/// `1/x` for `x < 64` (entry 0 unused).
fn reciprocals() -> &'static [f64; 64] {
    static TABLE: std::sync::OnceLock<[f64; 64]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|x| if x == 0 { 0.0 } else { 1.0 / x as f64 }))
}

/// `ln k! − [ln √(2π) + (k + ½) ln(k + 1) − (k + 1)]`: exact values below 10,
/// Stirling series in `k + 1` above (error below 1e-12).
fn stirling_tail(k: f64) -> f64 {
    const TABLE: [f64; 10] = [
        0.08106146679532726,
        0.0413406959554093,
        0.02767792568499834,
        0.020790672103765093,
        0.016644691189821193,
        0.013876128823070748,
        0.01189670994589177,
        0.010411265261972096,
        0.009255462182712733,
        0.00833056343336287,
    ];
    if k < 10.0 {
        return TABLE[k as usize];
    }
    let z = 1.0 / (k + 1.0);
    let z2 = z * z;
    (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - z2 / 1680.0) * z2) * z2) * z
}

/// Transformed rejection with squeeze for `n·p ≥ 10`, `p ≤ ½`. Proposals come
/// from a hat over the transformed uniform; most are accepted by the cheap
/// squeeze, the rest by comparing with the exact log-ratio
/// `ln f(k) − ln f(m)` around the mode `m`.
fn binomial_btrs<R: Rng>(rng: &mut R, n: u64, p: f64) -> u64 {
    let nf = n as f64;
    let q = 1.0 - p;
    let spq = (nf * p * q).sqrt();
    let b = 1.15 + 2.53 * spq;
    let a = -0.0873 + 0.0248 * b + 0.01 * p;
    let c = nf * p + 0.5;
    let v_r = 0.92 - 4.2 / b;
    let r = p / q;
    let alpha = (2.83 + 5.1 / b) * spq;
    let m = ((nf + 1.0) * p).floor();
    // Only needed on the slow path, which many proposals never reach.
    let mut at_mode = f64::NAN;
    // Each proposal is accepted with probability well above one half, so the
    // cap is never reached; it only makes termination unconditional.
    for _ in 0..1_000_000 {
        let u = uniform(rng) - 0.5;
        let v = uniform(rng);
        let us = 0.5 - u.abs();
        if us <= 0.0 {
            continue;
        }
        let kf = ((2.0 * a / us + b) * u + c).floor();
        if kf < 0.0 || kf > nf {
            continue;
        }
        if us >= 0.07 && v <= v_r {
            return kf as u64;
        }
        let lhs = (v * alpha / (a / (us * us) + b)).ln();
        if at_mode.is_nan() {
            at_mode = (m + 0.5) * ((m + 1.0) / (r * (nf - m + 1.0))).ln()
                + stirling_tail(m)
                + stirling_tail(nf - m);
        }
        let rhs = at_mode
            + (nf + 1.0) * ((kf - m) / (nf - kf + 1.0)).ln_1p()
            + (kf + 0.5) * (r * (nf - kf + 1.0) / (kf + 1.0)).ln()
            - stirling_tail(kf)
            - stirling_tail(nf - kf);
        if lhs <= rhs {
            return kf as u64;
        }
    }
    m as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn binomial_mean_and_variance() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for &(n, p) in &[
            (20u64, 0.3),
            (1000, 0.004),
            (1000, 0.3),
            (5_000_000, 0.45),
            (60, 0.9),
            (3, 0.5),
        ] {
            let draws = 40_000;
            let xs: Vec<f64> = (0..draws)
                .map(|_| binomial(&mut rng, n, p) as f64)
                .collect();
            let mean = xs.iter().sum::<f64>() / draws as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (draws - 1) as f64;
            let nf = n as f64;
            let (m0, v0) = (nf * p, nf * p * (1.0 - p));
            assert!(
                (mean - m0).abs() < 5.0 * (v0 / draws as f64).sqrt(),
                "mean n={n} p={p}"
            );
            assert!(
                (var / v0 - 1.0).abs() < 0.05,
                "variance n={n} p={p}: {var} vs {v0}"
            );
            assert!(xs.iter().all(|&x| x >= 0.0 && x <= nf));
        }
    }

    /// Exact probabilities through log-gamma sums, to test the shape of the
    /// rejection sampler, not just its moments.
    #[test]
    fn binomial_matches_exact_distribution() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for &(n, p) in &[(40u64, 0.35), (25, 0.2)] {
            let draws = 200_000usize;
            let mut hist = vec![0usize; n as usize + 1];
            for _ in 0..draws {
                hist[binomial(&mut rng, n, p) as usize] += 1;
            }
            let mut ln_fact = vec![0.0f64; n as usize + 1];
            for x in 1..=n as usize {
                ln_fact[x] = ln_fact[x - 1] + (x as f64).ln();
            }
            let nu = n as usize;
            let mut chi2 = 0.0;
            let mut dof = 0;
            for (x, &h) in hist.iter().enumerate() {
                let lp = ln_fact[nu] - ln_fact[x] - ln_fact[nu - x]
                    + x as f64 * p.ln()
                    + (nu - x) as f64 * (1.0 - p).ln();
                let e = draws as f64 * lp.exp();
                if e >= 20.0 {
                    chi2 += (h as f64 - e).powi(2) / e;
                    dof += 1;
                }
            }
            // Mean dof, sd about sqrt(2 dof): 5 sd is a loose, stable bar.
            let limit = dof as f64 + 5.0 * (2.0 * dof as f64).sqrt();
            assert!(chi2 < limit, "n={n} p={p}: chi2 {chi2} with {dof} cells");
        }
    }

    #[test]
    fn multinomial_mean_and_variance() {
        let weights = [5.0, 1.0, 0.5, 30.0, 13.5];
        let total: f64 = weights.iter().sum();
        let n = 500u64;
        let rounds = 4000;
        // Both samplers, whichever `VoteSampler::new` would pick.
        for (name, sampler) in [
            ("chain", VoteSampler::chain(n, &weights)),
            ("alias", VoteSampler::alias(n, &weights)),
        ] {
            let mut rng = ChaCha8Rng::seed_from_u64(9);
            let mut out = vec![0u64; weights.len()];
            let mut sum = [0.0f64; 5];
            let mut sum2 = [0.0f64; 5];
            let mut cross = 0.0;
            for _ in 0..rounds {
                sampler.draw(&mut rng, &mut out);
                assert_eq!(out.iter().sum::<u64>(), n);
                for c in 0..5 {
                    sum[c] += out[c] as f64;
                    sum2[c] += (out[c] as f64).powi(2);
                }
                cross += out[0] as f64 * out[3] as f64;
            }
            let r = rounds as f64;
            let nf = n as f64;
            for c in 0..5 {
                let p = weights[c] / total;
                let mean = sum[c] / r;
                let var = sum2[c] / r - mean * mean;
                let (m0, v0) = (nf * p, nf * p * (1.0 - p));
                assert!((mean - m0).abs() < 5.0 * (v0 / r).sqrt(), "{name} mean {c}");
                assert!(
                    (var / v0 - 1.0).abs() < 0.06,
                    "{name} variance {c}: {var} vs {v0}"
                );
            }
            // Multinomial counts are negatively correlated: −n p_0 p_3.
            let cov = cross / r - (sum[0] / r) * (sum[3] / r);
            let cov0 = -nf * weights[0] * weights[3] / (total * total);
            assert!(
                (cov / cov0 - 1.0).abs() < 0.1,
                "{name} covariance {cov} vs {cov0}"
            );
        }
    }
}
