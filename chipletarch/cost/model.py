"""Pure manufacturing-cost functions: numbers in, dollars and yields out.

Nothing here knows about architectures, YAML or the catalog: every function takes plain numbers
(areas in mm^2, defect densities in defects/cm^2, wafer prices in $ per 300 mm wafer) so that each
formula can be checked by hand against ../shared/reference/COST_MODEL.md (cited below as CM §n)
and reused by `chipletarch.cost.package` (real architectures) and `chipletarch.cost.split`
(monolithic-vs-chiplet studies). docs/COST.md shows every formula with its source.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Sequence

from ..errors import SpecError

YIELD_MODELS = ("poisson", "murphy", "seeds", "negative_binomial", "bose_einstein")


def _positive(name: str, value: float) -> float:
    v = float(value)
    if not (v > 0.0) or math.isinf(v):
        raise SpecError(f"{name} must be a positive finite number, got {value!r}")
    return v


def _non_negative(name: str, value: float) -> float:
    v = float(value)
    if not (v >= 0.0) or math.isinf(v):
        raise SpecError(f"{name} must be a non-negative finite number, got {value!r}")
    return v


def _probability(name: str, value: float) -> float:
    v = float(value)
    if not (0.0 < v <= 1.0):
        raise SpecError(f"{name} must lie in (0, 1], got {value!r}")
    return v


# --------------------------------------------------------------------------------------------
# 1. Geometry (CM §1)
# --------------------------------------------------------------------------------------------

def scribed_area(area_mm2: float, scribe_mm: float) -> float:
    """Area a square die occupies on the wafer once the scribe lane is added:
    A_s = A + 2 s sqrt(A) + s^2, i.e. (sqrt(A) + s)^2 (CM §1, Chiplet Actuary [C2])."""
    a = _positive("die area (mm^2)", area_mm2)
    s = _non_negative("scribe lane (mm)", scribe_mm)
    return a + 2.0 * s * math.sqrt(a) + s * s


def dies_per_wafer(area_mm2: float, *, wafer_diameter_mm: float = 300.0, scribe_mm: float = 0.2,
                   edge_exclusion_mm: float = 5.0) -> float:
    """Gross dies per wafer with scribe lane and edge exclusion (CM §1, [C2]):

        DPW = pi (d/2 - e)^2 / A_s  -  pi (d - 2e) / sqrt(2 A_s)

    The result is the formula's expected value and is not floored, as in Chiplet Actuary, so
    that cost is a smooth function of area (the hypothesis tests rely on monotonicity).
    Raises SpecError when not even one die fits.
    """
    d = _positive("wafer diameter (mm)", wafer_diameter_mm)
    e = _non_negative("edge exclusion (mm)", edge_exclusion_mm)
    if 2.0 * e >= d:
        raise SpecError(f"edge exclusion {e} mm leaves no usable wafer of diameter {d} mm")
    a_s = scribed_area(area_mm2, scribe_mm)
    n = math.pi * (d / 2.0 - e) ** 2 / a_s - math.pi * (d - 2.0 * e) / math.sqrt(2.0 * a_s)
    if n < 1.0:
        raise SpecError(
            f"a {area_mm2:g} mm^2 die does not fit on a {d:g} mm wafer "
            f"(formula gives {n:.2f} dies per wafer)")
    return n


def dies_per_wafer_classic(area_mm2: float, wafer_diameter_mm: float = 300.0) -> float:
    """Textbook gross-die count without scribe or edge exclusion (CM §1, [C1]):
    DPW = pi (d/2)^2 / A - pi d / sqrt(2 A)."""
    a = _positive("die area (mm^2)", area_mm2)
    d = _positive("wafer diameter (mm)", wafer_diameter_mm)
    return math.pi * (d / 2.0) ** 2 / a - math.pi * d / math.sqrt(2.0 * a)


# --------------------------------------------------------------------------------------------
# 2. Yield (CM §2). D0 in defects/cm^2, area in mm^2 (converted: 1 cm^2 = 100 mm^2).
# --------------------------------------------------------------------------------------------

def die_yield(area_mm2: float, d0_per_cm2: float, model: str = "negative_binomial", *,
              alpha: float = 3.0, critical_layers: int = 1) -> float:
    """Fraction of dies free of killer defects.

    lambda = D0 * A (expected defects per die, A in cm^2):
      poisson            Y = exp(-lambda)
      murphy             Y = ((1 - exp(-lambda)) / lambda)^2
      seeds              Y = 1 / (1 + lambda)
      negative_binomial  Y = (1 + lambda/alpha)^(-alpha)      (default; alpha = clustering)
      bose_einstein      Y = (1 + lambda)^(-n), n = critical_layers
    """
    a = _positive("die area (mm^2)", area_mm2)
    d0 = _non_negative("defect density D0 (/cm^2)", d0_per_cm2)
    lam = d0 * a / 100.0
    if lam == 0.0:
        return 1.0
    if model == "poisson":
        return math.exp(-lam)
    if model == "murphy":
        return (-math.expm1(-lam) / lam) ** 2
    if model == "seeds":
        return 1.0 / (1.0 + lam)
    if model == "negative_binomial":
        al = _positive("clustering alpha", alpha)
        return math.exp(-al * math.log1p(lam / al))
    if model == "bose_einstein":
        if int(critical_layers) != critical_layers or critical_layers < 1:
            raise SpecError(f"critical_layers must be a positive integer, got {critical_layers!r}")
        return (1.0 + lam) ** (-int(critical_layers))
    raise SpecError(f"unknown yield model {model!r}; choose one of {', '.join(YIELD_MODELS)}")


def harvested_yield(area_mm2: float, d0_per_cm2: float, *, units: int, spare_units: int,
                    unit_area_fraction: float, alpha: float = 3.0,
                    model: str = "negative_binomial", critical_layers: int = 1) -> float:
    """Yield of a die sold partially enabled: `units` identical blocks are built, at most
    `spare_units` of them may be bad (H100 SXM: 132 of 144 SMs enabled, HARDWARE.md §1 [S1][S4];
    MI300X: 38 of 40 CUs per XCD, §4 [S20]).

    The die splits into non-repairable logic, (1 - f) A, which must be defect-free, and `units`
    blocks of area f A / N each (f = `unit_area_fraction`). Within one die, killer defects are
    Poisson with a density g D0 that varies from die to die: every yield model of CM §2 is such a
    mixture, Y(lam) = E_g[exp(-g lam)] (negative binomial: g ~ Gamma(alpha, rate alpha); Seeds:
    alpha = 1; Bose-Einstein: g ~ Gamma(n, rate 1); Murphy: g triangular on [0, 2]; Poisson:
    g = 1). Given g the blocks fail independently (Stapper's redundancy model with die-level
    defect clustering), so

        Y = E_g[ exp(-g lam_nr) * P(at most r of N blocks bad | g) ],
        lam_nr = D0 (1 - f) A,   P(block bad | g) = 1 - exp(-g D0 f A / N)

    With r = 0 this is exactly the plain model at the full area, for every model; spares can
    only raise it; it falls with D0 and with area. (Multiplying independent per-block
    negative-binomial yields instead ignores that a die's blocks share its defect density and
    does not return the plain model at r = 0.) The expectation is a Gauss quadrature with
    positive weights, so those monotonicities also hold node by node.
    """
    n = int(units)
    r = int(spare_units)
    if n < 1 or n != units:
        raise SpecError(f"units must be a positive integer, got {units!r}")
    if r < 0 or r != spare_units or r > n:
        raise SpecError(f"spare_units must be an integer in [0, units], got {spare_units!r}")
    f = float(unit_area_fraction)
    if not (0.0 < f <= 1.0):
        raise SpecError(f"unit_area_fraction must lie in (0, 1], got {unit_area_fraction!r}")
    a = _positive("die area (mm^2)", area_mm2)
    d0 = _non_negative("defect density D0 (/cm^2)", d0_per_cm2)
    lam = d0 * a / 100.0
    if model not in YIELD_MODELS:
        raise SpecError(f"unknown yield model {model!r}; choose one of {', '.join(YIELD_MODELS)}")
    if lam == 0.0:
        return 1.0
    lam_u = lam * f / n                   # expected defects per block at g = 1
    lam_nr = lam * (1.0 - f)
    # Importance tilt: the mixing law is reweighted by exp(-g c), c = the integrand's local decay
    # rate where the tilted law puts its mass (a Laplace-style fixed point). A tilted gamma is a
    # gamma whose normaliser is the plain model at "lambda" c, so the quadrature integrates only
    # the slowly varying remainder exp(g c) x integrand; with r = 0 that remainder is 1 (exact).
    log_c = _log_binom_coeffs(n, r)
    c = _tilt(model, alpha, critical_layers, lam_nr, lam_u, n, r, log_c)
    g, w, norm = _mixture_nodes(model, alpha, critical_layers, c)
    total = 0.0
    for gi, wi in zip(g, w):
        total += wi * math.exp(gi * (c - lam_nr) + _log_binomial_cdf(log_c, n, r, gi * lam_u))
    return min(1.0, norm * total)


def _log_binom_coeffs(n: int, r: int):
    """log C(n, k) for k = 0..r."""
    import numpy as np
    k = np.arange(r + 1, dtype=float)
    lg = np.vectorize(math.lgamma, otypes=[float])
    return math.lgamma(n + 1) - lg(k + 1) - lg(n - k + 1)


def _log_binomial_cdf(log_coeffs, n: int, r: int, x: float) -> float:
    """log P(at most r of n blocks bad), each bad with p = 1 - exp(-x); in log space so that
    wafer-scale block counts (~10^6) neither overflow nor lose precision."""
    import numpy as np
    if x <= 0.0 or r >= n:
        return 0.0
    lp = math.log(-math.expm1(-x))          # log p
    k = np.arange(r + 1, dtype=float)
    t = log_coeffs + k * lp - (n - k) * x   # log C(n,k) p^k q^(n-k), log q = -x
    m = float(t.max())
    return min(0.0, m + math.log(float(np.exp(t - m).sum())))


def _gamma_params(model: str, alpha: float, critical_layers: int) -> tuple[float, float]:
    """(shape, rate) of the gamma mixing law of a gamma-mixed Poisson yield model."""
    if model == "negative_binomial":
        a = _positive("clustering alpha", alpha)
        return a, a
    if model == "seeds":
        return 1.0, 1.0
    if int(critical_layers) != critical_layers or critical_layers < 1:
        raise SpecError(f"critical_layers must be a positive integer, got {critical_layers!r}")
    return float(int(critical_layers)), 1.0          # bose_einstein


def _tilt(model: str, alpha: float, critical_layers: int, lam_nr: float, lam_u: float,
          n: int, r: int, log_c) -> float:
    """c = -d/dg log[exp(-g lam_nr) P(<= r of n bad | g)] at the mean g of the mixing law tilted
    by exp(-g c) (damped fixed point). r = 0 gives c = lam_nr + n lam_u exactly."""
    if model in ("poisson", "murphy") or r == 0 or r >= n:
        return lam_nr + (n - r) * lam_u
    shape, rate = _gamma_params(model, alpha, critical_layers)
    log_dcoef = math.log(n) + math.lgamma(n) - math.lgamma(r + 1) - math.lgamma(n - r)

    def rate_at(g: float) -> float:
        x = g * lam_u
        if x <= 0.0:
            return lam_nr
        # d/dg P(X <= r) = -n C(n-1, r) p^r q^(n-1-r) dp/dg,  dp/dg = lam_u q,  q = e^-x
        log_dens = (log_dcoef + r * math.log(-math.expm1(-x)) - (n - r) * x + math.log(lam_u))
        return lam_nr + math.exp(log_dens - _log_binomial_cdf(log_c, n, r, x))

    c = rate_at(1.0)
    for _ in range(60):
        c_new = 0.5 * c + 0.5 * rate_at(shape / (rate + c))
        done = abs(c_new - c) <= 1e-9 * (1.0 + c)
        c = c_new
        if done:
            break
    return c


_QUAD_NODES = 64


@lru_cache(maxsize=256)
def _gen_laguerre(a: float, n: int = _QUAD_NODES):
    """Nodes and normalised weights of n-point generalised Gauss-Laguerre quadrature for the
    weight x^a e^-x / Gamma(a + 1) (Golub-Welsch: eigenvalues of the Jacobi matrix)."""
    import numpy as np
    i = np.arange(n, dtype=float)
    off = np.sqrt(i[1:] * (i[1:] + a))
    jac = np.diag(2.0 * i + a + 1.0) + np.diag(off, 1) + np.diag(off, -1)
    x, v = np.linalg.eigh(jac)
    w = v[0] ** 2
    return tuple(x.tolist()), tuple((w / w.sum()).tolist())


@lru_cache(maxsize=4)
def _legendre_panels():
    """Gauss-Legendre nodes/weights on panels of [0, 2], geometrically finer towards 0."""
    import numpy as np
    t, wt = np.polynomial.legendre.leggauss(24)
    edges = [0.0] + [2.0 ** -k for k in range(12, -1, -1)] + [1.5, 2.0]
    xs, ws = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        xs.extend((0.5 * (hi - lo) * t + 0.5 * (hi + lo)).tolist())
        ws.extend((0.5 * (hi - lo) * wt).tolist())
    return tuple(xs), tuple(ws)


def _mixture_nodes(model: str, alpha: float, critical_layers: int, tilt: float):
    """(g_i, w_i, norm): E_g[exp(-g tilt) h(g)] = norm * sum_i w_i h(g_i) for the defect-density
    mixing law of `model` (see harvested_yield)."""
    if model == "poisson":
        return (1.0,), (1.0,), math.exp(-tilt)
    if model == "murphy":                              # triangular density on [0, 2]
        xs, ws = _legendre_panels()
        w = tuple(wi * (x if x <= 1.0 else 2.0 - x) * math.exp(-x * tilt) for x, wi in zip(xs, ws))
        return xs, w, 1.0
    shape, rate = _gamma_params(model, alpha, critical_layers)
    # Gamma(shape, rate) tilted by exp(-g tilt) = Gamma(shape, rate + tilt) x (1 + tilt/rate)^-shape
    x, w = _gen_laguerre(shape - 1.0)
    return tuple(xi / (rate + tilt) for xi in x), w, math.exp(-shape * math.log1p(tilt / rate))


# --------------------------------------------------------------------------------------------
# 3. Die cost with known-good-die test (CM §7 steps 1-2, §4)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DieCost:
    """Cost of one die after wafer sort.

    `raw` = wafer / DPW; `kgd` = cost per die that passes wafer-sort test, all scrap and test
    included; `quality` = probability that a die which passed test is truly good (< 1 only when
    test coverage < 1: escapes are bonded and later scrap the package they land in)."""
    area_mm2: float
    dies_per_wafer: float
    yield_: float
    raw: float
    test: float
    kgd: float
    quality: float

    @property
    def defect(self) -> float:
        """Scrapped-die cost carried by each good die (Chiplet Actuary's 'defect cost')."""
        return self.kgd - self.raw - self.test


def die_cost(area_mm2: float, wafer_price: float, d0_per_cm2: float, *, alpha: float = 3.0,
             model: str = "negative_binomial", yield_override: float | None = None,
             dies_per_wafer_override: float | None = None,
             wafer_diameter_mm: float = 300.0, scribe_mm: float = 0.2,
             edge_exclusion_mm: float = 5.0, test_cost: float = 0.0,
             test_coverage: float = 1.0) -> DieCost:
    """Raw and known-good-die cost of one die (CM §7, §4).

        raw  = W / DPW
        pass = Y + (1 - Y)(1 - c)                 (fraction of dies passing a test of coverage c)
        kgd  = (raw + t) / pass                   (t = test cost per die probed)
        quality = Y / pass                        (passing dies that are truly good)

    With c = 1 and t = 0 this is Chiplet Actuary's cost_KGD = W / (DPW * Y) [C2].
    `yield_override` replaces the area-based yield (e.g. a harvested yield from
    `harvested_yield`); `dies_per_wafer_override` the DPW formula (a wafer-scale die is 1 per
    wafer by construction, HARDWARE.md §10).
    """
    w = _non_negative("wafer price ($)", wafer_price)
    if dies_per_wafer_override is not None:
        n = _positive("dies per wafer", dies_per_wafer_override)
    else:
        n = dies_per_wafer(area_mm2, wafer_diameter_mm=wafer_diameter_mm, scribe_mm=scribe_mm,
                           edge_exclusion_mm=edge_exclusion_mm)
    y = (die_yield(area_mm2, d0_per_cm2, model, alpha=alpha) if yield_override is None
         else _probability("yield override", yield_override))
    t = _non_negative("test cost per die ($)", test_cost)
    c = float(test_coverage)
    if not (0.0 <= c <= 1.0):
        raise SpecError(f"test coverage must lie in [0, 1], got {test_coverage!r}")
    raw = w / n
    passing = y + (1.0 - y) * (1.0 - c)
    return DieCost(area_mm2=float(area_mm2), dies_per_wafer=n, yield_=y, raw=raw, test=t,
                   kgd=(raw + t) / passing, quality=y / passing)


# --------------------------------------------------------------------------------------------
# 4. Assembly: components entering a sequence of yielded steps (CM §5c, §8)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Part:
    """A purchased or fabricated component that enters assembly before step `enters_at`
    (index into the step list); it is scrapped by a failure at that step or any later one.
    `prior_yield` is the yield of a sub-assembly it went through first (e.g. a die hybrid-bonded
    onto a base die, the stack tested before it joins the package)."""
    name: str
    cost: float
    enters_at: int = 0
    category: str = ""
    prior_yield: float = 1.0


@dataclass(frozen=True)
class Step:
    """An assembly or test step that a package survives with probability `yield_`."""
    name: str
    yield_: float


@dataclass
class AssemblyResult:
    """Cost of one good package: per part, its own price and the scrap it induces."""
    parts: list[Part]
    steps: list[Step]
    survive: list[float]            # per part: probability it ends in a good package
    good_cost: list[float] = field(default_factory=list)   # per part: cost / survive

    @property
    def total(self) -> float:
        return float(sum(self.good_cost))

    @property
    def package_yield(self) -> float:
        """Probability that a package started at step 0 comes out good."""
        return math.prod(s.yield_ for s in self.steps)

    def scrap(self, i: int) -> float:
        return self.good_cost[i] - self.parts[i].cost


def assemble(parts: Sequence[Part], steps: Sequence[Step]) -> AssemblyResult:
    """Cost per good package when parts enter a line of yielded steps:

        cost_good = sum_i cost_i / (p_i * prod_{j >= entry_i} y_j)     (p_i = prior_yield)

    A part entering before step j is lost whenever step j or a later step fails, so each good
    package must pay for the copies of the part scrapped along the way. This one rule reproduces
    Chiplet Actuary's organic, chip-last and chip-first formulas (CM §8): e.g. chip-last is
    steps [interposer test y1, die bond y2 = y_b^n, substrate attach y3] with the interposer
    entering at 0, dies at 1, substrate at 2, giving
    interposer/(y1 y2 y3) + dies/(y2 y3) + substrate/y3.
    """
    steps = list(steps)
    for s in steps:
        _probability(f"yield of step {s.name!r}", s.yield_)
    survive = []
    good = []
    for p in parts:
        if not (0 <= p.enters_at <= len(steps)):
            raise SpecError(f"part {p.name!r} enters at step {p.enters_at}, "
                            f"outside 0..{len(steps)}")
        _non_negative(f"cost of {p.name!r}", p.cost)
        s = _probability(f"prior yield of {p.name!r}", p.prior_yield) * math.prod(
            st.yield_ for st in steps[p.enters_at:])
        survive.append(s)
        good.append(p.cost / s)
    return AssemblyResult(parts=list(parts), steps=steps, survive=survive, good_cost=good)


def bond_yield(per_attach_yield: float, attaches: int) -> float:
    """Yield of bonding `attaches` dies, each surviving with y_b: Y = y_b^n (CM §5c, [C2])."""
    y = _probability("per-attach bonding yield", per_attach_yield)
    if attaches < 0 or int(attaches) != attaches:
        raise SpecError(f"number of attached dies must be a non-negative integer, got {attaches!r}")
    return y ** int(attaches)


def organic_layer_factor(package_area_mm2: float, n_dies: int) -> float:
    """Substrate layer-count cost factor of Chiplet Actuary (CM §5a, [C2]): 1 for a single die;
    multi-die packages need more routing layers: 1.5 below 17x17 mm, 1.75 below 30x30 mm,
    2 above."""
    if n_dies <= 1:
        return 1.0
    if package_area_mm2 > 30.0 * 30.0:
        return 2.0
    if package_area_mm2 > 17.0 * 17.0:
        return 1.75
    return 1.5


# --------------------------------------------------------------------------------------------
# 5. HBM stacks (CM §6)
# --------------------------------------------------------------------------------------------

def hbm_stack_price(capacity_gb: float, usd_per_gb: float, *, height: int = 8,
                    reference_height: int = 8, stack_yield_at_reference: float = 0.93) -> float:
    """Price of one HBM stack.

        price = capacity * $/GB * y_layer^(h_ref - h),   y_layer = Y_ref^(1 / h_ref)

    $/GB quotes are for the common stack of a generation (8-Hi, h_ref = 8); a taller stack pays
    the extra stacking loss of its additional layers. Y_ref = 93 % for an 8-Hi stack is the
    legitlads HBM3E model (CM §6, [C32]: $238 = ($152 dies + $30 base + $24 TSV + $16 test)/0.93).
    """
    cap = _positive("HBM capacity (GB)", capacity_gb)
    p = _non_negative("HBM $/GB", usd_per_gb)
    if height < 1 or reference_height < 1:
        raise SpecError(f"HBM stack height must be >= 1, got {height!r}")
    y_layer = _probability("reference stack yield", stack_yield_at_reference) ** (1.0 / reference_height)
    return cap * p * y_layer ** (reference_height - height)


# --------------------------------------------------------------------------------------------
# 6. NRE (CM §3c, §7 step 7, §8 "NRE cost")
# --------------------------------------------------------------------------------------------

def die_design_nre(area_mm2: float, node_design_nre: float, *, module_share: float = 0.5,
                   chip_share: float = 0.3) -> float:
    """One-time design cost (design, verification, IP, first mask set) of one die design, scaled
    from the IBS cost of a 300 mm^2-class chip at the node (CM §3c, [C17]) as Chiplet Actuary does
    (CM §8, [C2]):

        NRE = module_share * N/300 * A  +  chip_share * N/300 * A  +  (1 - module_share - chip_share) * N

    i.e. a part proportional to area (blocks, chip integration) and a fixed part (tape-out,
    verification, software). With the defaults a 300 mm^2 die costs exactly N.
    """
    a = _positive("die area (mm^2)", area_mm2)
    n = _non_negative("node design NRE ($)", node_design_nre)
    if not (0.0 <= module_share and 0.0 <= chip_share and module_share + chip_share <= 1.0):
        raise SpecError("module_share and chip_share must be >= 0 and sum to at most 1")
    return (module_share + chip_share) * n / 300.0 * a + (1.0 - module_share - chip_share) * n


def amortised_nre(nre: float, units: float) -> float:
    """NRE per unit: one-time cost spread over every unit that uses the design (CM §7 step 7).
    For a die design `units` counts die instances across every product that uses it, which is
    how reuse of one chiplet in several products lowers each product's share."""
    n = _non_negative("NRE ($)", nre)
    u = _positive("volume (units)", units)
    return n / u


def amortised_units(instances_per_package: Iterable[tuple[int, float]]) -> float:
    """Total instances of a design over products: sum of (instances per package x volume)."""
    total = 0.0
    for per_pkg, volume in instances_per_package:
        total += _non_negative("instances per package", per_pkg) * _non_negative("volume", volume)
    return total
