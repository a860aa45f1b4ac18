"""Maximum-likelihood residual spread from counts: the Poisson-log-normal model.

The interval (`riskmodel.models.interval`) models the true expected cases of a row as
log-normal around the score's, L_true = L_hat x exp(s z - s^2 / 2) with z ~ Normal(0, 1)
and s^2 = sigma^2 + d^2 (d the members' log-odds spread of the row, sigma the residual
spread to estimate), and the identified cases as N ~ Poisson(L_true). So each row's count
has the marginal probability

    P(N | L_hat, s) = E_z[ Poisson(N; L_hat exp(s z - s^2 / 2)) ],

and sigma can be fitted by maximising sum_i w_i log P(N_i | L_hat_i, s_i) over sigma >= 0.
Unlike the moment estimator (squared count residuals), every row contributes through its
whole count distribution, so the fit leans less on the few windows with many cases. The
fit merges rows of one count and nearly equal L_hat and d first (`grouped_rows`): a
window of neighbouring cells repeats the same few values, and the merge makes the fit
an order of magnitude faster at no visible cost in sigma.

The expectation is a one-dimensional integral, computed per row by the trapezoid rule on
a grid adapted to the row: the integrand exp(g(z)), g(z) = N (s z - s^2/2 + log L) -
L exp(s z - s^2/2) - z^2/2, is log-concave, so its mode is found by Newton steps (on
log mu, where they converge monotonically) and the grid is centred there and scaled by
the curvature. The trapezoid rule, not Gauss-Hermite nodes, because for N = 0 and a wide
spread the integrand is strongly skewed (a normal density cut off on one side), which 16
and 32 Hermite nodes integrate only to 4e-4 and 2e-5 in log P, while the rule's error
falls off exponentially with its step. `log_likelihood_reference` integrates the same
rows with `scipy.integrate.quad` and is what the kernel is tested against.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from scipy import integrate, optimize, special

# The trapezoid grid in units of the integrand's curvature scale: step 0.5 over +-8
# (33 nodes) agrees with adaptive quadrature to 6e-6 in log P for spreads up to 2.5 and
# counts up to 40, to 4e-8 below 1.5 (measured; the tests hold it to 2e-5).
STEP, HALF_WIDTH = 0.5, 8.0
# Rows are merged into groups this narrow in log expected cases and member spread before
# the fit: the likelihood is smooth in both, so a group's rows count as one row at their
# mean. On a scenario world's refit window this cut 86,400 rows to about 7,000 groups and
# moved the fitted sigma by less than 1e-5 (a test bounds the move at 1e-3).
GROUP_LOG_LAM, GROUP_MEMBER_SD = 0.01, 0.005
# The largest residual spread searched, in log expected cases: a band this wide spans
# more than two orders of magnitude either side at 80%, far beyond any fitted world.
SIGMA_MAX = 4.0
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_U = np.arange(-HALF_WIDTH, HALF_WIDTH + STEP / 2, STEP)


@njit(cache=True)
def _row_loglik(n, lam, s, u, step):  # pragma: no cover - compiled
    """log P(N = n) for one row (module docstring), by the trapezoid rule on the grid
    z* + tau u around the integrand's mode z*, tau its curvature scale."""
    shift = math.log(lam) - 0.5 * s * s
    # The mode solves g'(z) = 0; in v = log mu = s z + shift that is h(v) = s^2 e^v + v -
    # (n s^2 + shift) = 0 with h increasing and convex, so Newton steps from a start
    # where h >= 0 fall monotonically onto the root (in z they overshoot the exponential
    # and crawl back). The grid needs the mode only roughly; at s = 0 it is z = 0.
    z = 0.0
    if s > 1e-9:
        c = n * s * s + shift
        v = math.log(c / (s * s)) if c >= s * s else c  # h(v) >= 0 at both
        for _ in range(100):
            e = s * s * math.exp(v)
            dv = (e + v - c) / (e + 1.0)
            v -= dv
            if dv < 1e-10:
                break
        z = (v - shift) / s
    mu = math.exp(s * z + shift)
    tau = 1.0 / math.sqrt(s * s * mu + 1.0)
    g0 = n * (s * z + shift) - mu - 0.5 * z * z
    total = 0.0
    # mu at the nodes, which are equally spaced: one exp for the first, then a ratio
    z0 = z + tau * u[0]
    mu_k = math.exp(min(s * z0 + shift, 700.0))
    ratio = math.exp(s * tau * step)
    for k in range(u.shape[0]):
        zk = z0 + tau * step * k
        # g <= g0 at every node (g is concave with its maximum at z*); past log mu = 700
        # exp(-mu) is zero (and exp(mu) would overflow)
        log_mu = s * zk + shift
        if log_mu < 700.0:
            total += math.exp(n * log_mu - mu_k - 0.5 * zk * zk - g0)
        mu_k *= ratio
    return (math.log(tau * step * total) + g0 - _HALF_LOG_2PI
            - math.lgamma(n + 1.0))


@njit(cache=True, parallel=True)
def _rows_loglik(count, lam, member_sd, sigma, u, step):  # pragma: no cover - compiled
    out = np.empty(count.shape[0])
    for i in prange(count.shape[0]):
        s = math.sqrt(sigma * sigma + member_sd[i] * member_sd[i])
        out[i] = _row_loglik(count[i], lam[i], s, u, step)
    return out


def _inputs(count, lam, member_sd) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    count, lam, member_sd = (np.ascontiguousarray(a, dtype=np.float64)
                             for a in (count, lam, member_sd))
    if not (count.shape == lam.shape == member_sd.shape and count.ndim == 1):
        raise ValueError("count, lam and member_sd must be 1-d arrays of one length")
    if len(lam) and (np.min(lam) <= 0 or np.min(count) < 0 or np.min(member_sd) < 0):
        raise ValueError("expected cases must be positive, counts and member spreads "
                         "non-negative")
    return count, lam, member_sd


def row_log_likelihood(count: np.ndarray, lam: np.ndarray, member_sd: np.ndarray,
                       sigma: float) -> np.ndarray:
    """log P(N_i | L_hat_i, s_i) per row, (n,): `count` (n,) identified cases, `lam` (n,)
    expected cases L_hat > 0, `member_sd` (n,) members' log-odds spread d, `sigma` the
    residual spread (s_i^2 = sigma^2 + d_i^2)."""
    count, lam, member_sd = _inputs(count, lam, member_sd)
    return _rows_loglik(count, lam, member_sd, float(sigma), _U, STEP)


def log_likelihood_reference(count: np.ndarray, lam: np.ndarray, member_sd: np.ndarray,
                             sigma: float) -> np.ndarray:
    """`row_log_likelihood` by adaptive quadrature over z (scipy `quad`): slow, exact to
    about 1e-10; the reference the kernel is tested against."""
    count, lam, member_sd = _inputs(count, lam, member_sd)
    out = np.empty(len(count))
    for i, (n, L, d) in enumerate(zip(count, lam, member_sd)):
        s = math.sqrt(sigma ** 2 + d ** 2)
        shift = math.log(L) - 0.5 * s * s

        def density(z: float, n: float = n, s: float = s, shift: float = shift) -> float:
            log_mu = s * z + shift
            if log_mu > 700:  # exp(-mu) underflows long before: no mass here
                return 0.0
            return math.exp(n * log_mu - math.exp(log_mu) - 0.5 * z * z - _HALF_LOG_2PI
                            - special.gammaln(n + 1))

        # beyond |z| = 40 the normal factor is below 1e-347
        out[i] = math.log(integrate.quad(density, -40.0, 40.0, points=[0.0], epsabs=0,
                                         epsrel=1e-12, limit=500)[0])
    return out


def grouped_rows(count: np.ndarray, lam: np.ndarray, member_sd: np.ndarray,
                 weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(count, lam, member_sd, weight) of the rows merged into groups of one count, log L
    within `GROUP_LOG_LAM` and d within `GROUP_MEMBER_SD`: each group's weight is the sum of
    its rows', its L the weighted geometric mean and its d the weighted root mean square
    (s^2 = sigma^2 + d^2 is what the likelihood reads). The groups are sorted by (count,
    log L bin, d bin), so the result depends on the rows' order only through the rounding
    of the sums."""
    key = np.stack([count, np.round(np.log(lam) / GROUP_LOG_LAM),
                    np.round(member_sd / GROUP_MEMBER_SD)], axis=1)
    groups, inverse = np.unique(key, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    w = np.bincount(inverse, weight)
    keep = w > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        lam_g = np.exp(np.bincount(inverse, weight * np.log(lam)) / w)
        sd_g = np.sqrt(np.bincount(inverse, weight * member_sd ** 2) / w)
    return groups[keep, 0], lam_g[keep], sd_g[keep], w[keep]


def fit_sigma(count: np.ndarray, lam: np.ndarray, member_sd: np.ndarray,
              weight: np.ndarray) -> float:
    """The residual spread sigma in [0, `SIGMA_MAX`] maximising sum_i weight_i log P(N_i |
    L_hat_i, s_i) (module docstring). Inputs (n,) as `row_log_likelihood`, `weight` (n,)
    the rows' sampling weights (>= 0). Rows are merged first (`grouped_rows`); bounded
    Brent search, to 1e-4 in sigma."""
    count, lam, member_sd = _inputs(count, lam, member_sd)
    weight = np.asarray(weight, dtype=np.float64)
    if weight.shape != count.shape or (len(weight) and np.min(weight) < 0):
        raise ValueError("weight must have one non-negative value per row")
    count, lam, member_sd, weight = grouped_rows(count, lam, member_sd, weight)

    def loss(sigma: float) -> float:
        return -float(np.dot(weight, _rows_loglik(count, lam, member_sd, sigma, _U,
                                                  STEP)))

    res = optimize.minimize_scalar(loss, bounds=(0.0, SIGMA_MAX), method="bounded",
                                   options={"xatol": 1e-4})
    sigma = float(res.x)
    # Brent never evaluates the bound itself: an optimum at sigma = 0 (no spread beyond
    # the members') lands about xatol inside it.
    return 0.0 if loss(0.0) <= loss(sigma) else sigma
