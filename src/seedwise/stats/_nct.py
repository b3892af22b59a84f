"""The noncentral t distribution's tails, computed without NaN over the whole range.

scipy's ``nct.sf`` / ``nct.cdf`` (Boost's series) return NaN in about a third of the
cells a power analysis visits (e.g. 6 degrees of freedom, noncentrality 7: a power of
0.99), and statsmodels inherits the defect. seedwise integrates the distribution
directly instead. With ``T = (Z + nc) / sqrt(V / df)``, ``Z`` standard normal and ``V``
chi-square with ``df`` degrees of freedom, conditioning on ``Z`` gives, for ``c > 0``::

    P(T > c) = integral over u > 0 of phi(u - nc) * P(V < df u^2 / c^2) du     (u = Z + nc)

(evaluated over ``z = u - nc``, so a noncentrality of 1e15 loses no precision)
a bounded, smooth integrand (the chi-square cdf is ``scipy.special.chdtr``, which is
finite everywhere) that :func:`scipy.integrate.quad` evaluates to about 1e-12 for any
``df`` from 1 to 2**42 and any noncentrality. ``c <= 0`` follows from the symmetry
``P(T > c) = 1 - P(-T > -c)``, where ``-T`` has noncentrality ``-nc``.
"""

from __future__ import annotations

import math

import scipy.integrate
import scipy.special

__all__ = ["nct_sf", "nct_cdf"]

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SPAN = 40.0  # phi is below 1e-300 beyond 38 standard deviations


def _upper(c: float, df: float, nc: float) -> float:
    """P(T > c) for c > 0, integrating over z = u - nc (precise even when nc is 1e15)."""
    low, high = max(-_SPAN, -nc), _SPAN
    if high <= low:
        return 0.0
    scale = df / (c * c)

    def integrand(z: float) -> float:
        u = nc + z
        return math.exp(-0.5 * z * z) / _SQRT_2PI * float(scipy.special.chdtr(df, scale * u * u))

    # Where the factors change fast: the normal around z = 0, and the chi-square cdf,
    # which rises from 0 to 1 over about c / sqrt(2 df) around u = c.
    width = c / math.sqrt(2.0 * df)
    centre = c - nc
    points = sorted({p for p in (0.0, centre - 8 * width, centre, centre + 8 * width) if low < p < high})
    value, _ = scipy.integrate.quad(integrand, low, high, points=points or None, limit=400, epsabs=1e-14, epsrel=1e-12)
    return min(1.0, max(0.0, float(value)))


def nct_sf(c: float, df: float, nc: float) -> float:
    """``P(T > c)`` for ``T`` noncentral t with ``df`` degrees of freedom and noncentrality ``nc``."""
    if c > 0.0:
        return _upper(c, df, nc)
    if c == 0.0:
        return float(scipy.special.ndtr(nc))
    return 1.0 - _upper(-c, df, -nc)


def nct_cdf(c: float, df: float, nc: float) -> float:
    """``P(T <= c)``."""
    return nct_sf(-c, df, -nc)
