"""Serving economics: US$ per million tokens from capex and opex for a simulated throughput.

    capex/h   = (accelerator capex + server share) / (lifetime_years x 8766 h)
    opex/h    = PUE x $/kWh x [u P_serve + (1 - u) P_idle] x (1 + host power fraction) / 1000
    tokens/h  = tokens_per_s x 3600 x u
    $/Mtok    = (capex/h + opex/h) / tokens/h x 1e6

Accelerator capex defaults to the package's manufacturing cost (a cost-basis view for comparing
designs); pass `accelerator_price_usd` (or `price_to_cost`) for a buyer's view: an H100 sells at
$25k-30k for a ~$3,320 bill of materials (HARDWARE.md §1 [S7]). Straight-line depreciation, no
residual value, no cost of capital. Defaults and their sources are in `Economics` and
docs/COST.md §8.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

from ..errors import SpecError
from .package import PackageCost, package_cost

HOURS_PER_YEAR = 8766.0     # 365.25 days


@dataclass(frozen=True)
class Economics:
    """Economic parameters. Every default has a source (E = estimate, as in the reference sheets)."""
    # Server lifetime over which hardware is depreciated: AWS and Meta 5 years, Microsoft and
    # Google 6 years (2022 10-K/10-Q changes, reported by The Register 2022-08-02 and
    # shaulkoral.com "Useful life of servers and network assets at tech companies"). E.
    lifetime_years: float = 5.0
    # Fraction of wall-clock time the package serves at the simulated throughput. No public
    # figure fits every deployment: 1.0 gives the cost at full load (a lower bound). Set yours.
    utilisation: float = 1.0
    # US industrial electricity, 2023 average: 8.06 US cents/kWh (EIA, via Statista). E.
    energy_usd_per_kwh: float = 0.0806
    # Global average power usage effectiveness, 1.58 (Uptime Institute Global Data Center Survey
    # 2023; flat for four years). E.
    pue: float = 1.58
    # Non-accelerator server parts per accelerator (CPUs, memory, NICs, NVSwitch baseboard,
    # chassis): SemiAnalysis DGX H100 BOM excluding GPUs, $32,010 per 8 GPUs (Epoch AI
    # training-cost-trends notebook, HARDWARE.md [S7]) = $4,001 per accelerator. E.
    server_usd_per_accelerator: float = 32010.0 / 8
    # Host power per W of accelerator power: DGX H100 10.2 kW maximum with 8 x 700 W GPUs
    # (NVIDIA DGX H100 system power, as quoted by GPU TCO analyses) -> (10.2k - 5.6k)/5.6k. E.
    host_power_fraction: float = (10200.0 - 8 * 700.0) / (8 * 700.0)
    # Accelerator capex: the package cost x price_to_cost, unless a price is given.
    accelerator_price_usd: float | None = None
    price_to_cost: float = 1.0
    # Production volume used to amortise NRE into the package cost (None: NRE left out).
    volume: float | None = None

    def with_(self, **kw) -> "Economics":
        return replace(self, **kw)


@dataclass
class TokenCost:
    """$ per million tokens and its parts (all per package)."""
    name: str
    usd_per_million_tokens: float
    capex_usd_per_million_tokens: float
    opex_usd_per_million_tokens: float
    capex_usd: float                 # accelerator + server share
    capex_usd_per_hour: float
    opex_usd_per_hour: float
    tokens_per_s: float
    power_w: float
    economics: Economics = field(default_factory=Economics)

    def to_dict(self) -> dict:
        return asdict(self)


def _check(name: str, v: float, lo: float = 0.0, lo_open: bool = False, hi: float | None = None):
    v = float(v)
    bad = (not math.isfinite(v)) or (v <= lo if lo_open else v < lo) or (hi is not None and v > hi)
    if bad:
        raise SpecError(f"{name} out of range: {v!r}")
    return v


def token_cost(arch_or_cost, tokens_per_s: float, *, power_w: float | None = None,
               idle_power_w: float | None = None, economics: Economics | None = None,
               **economics_fields) -> TokenCost:
    """$ per million tokens of one package serving `tokens_per_s` (from a simulation).

    `arch_or_cost`: an Architecture / bundled name (costed with `package_cost`) or a PackageCost.
    `power_w`: average package power while serving (the energy model's figure); defaults to the
    architecture's TDP. `idle_power_w` (drawn for the unused 1 - utilisation) defaults to
    `power_w`, i.e. no saving while idle, the conservative choice.
    """
    eco = economics or Economics()
    if economics_fields:
        try:
            eco = replace(eco, **economics_fields)
        except TypeError as exc:
            raise SpecError(f"unknown economics parameter: {exc}") from None
    tps = _check("tokens_per_s", tokens_per_s, lo_open=True)
    life = _check("lifetime_years", eco.lifetime_years, lo_open=True)
    u = _check("utilisation", eco.utilisation, lo_open=True, hi=1.0)
    price = _check("energy_usd_per_kwh", eco.energy_usd_per_kwh)
    pue = _check("pue", eco.pue, lo=1.0)
    host = _check("host_power_fraction", eco.host_power_fraction)
    server = _check("server_usd_per_accelerator", eco.server_usd_per_accelerator)

    if isinstance(arch_or_cost, PackageCost):
        pc, tdp = arch_or_cost, None
    else:
        from .package import _load
        arch = _load(arch_or_cost)
        pc, tdp = package_cost(arch, volume=eco.volume), getattr(arch, "tdp_w", None)
    if power_w is None:
        if tdp is None:
            raise SpecError(f"'{pc.name}': give power_w (no architecture TDP to default to)")
        power_w = tdp
    p = _check("power_w", power_w, lo_open=True)
    p_idle = p if idle_power_w is None else _check("idle_power_w", idle_power_w)

    if eco.accelerator_price_usd is not None:
        accel = _check("accelerator_price_usd", eco.accelerator_price_usd)
    else:
        accel = pc.total * _check("price_to_cost", eco.price_to_cost, lo_open=True)
    capex = accel + server
    capex_h = capex / (life * HOURS_PER_YEAR)
    kw = (u * p + (1.0 - u) * p_idle) * (1.0 + host) / 1000.0
    opex_h = kw * pue * price
    tokens_h = tps * 3600.0 * u
    per_m = 1e6 / tokens_h
    return TokenCost(name=pc.name, usd_per_million_tokens=(capex_h + opex_h) * per_m,
                     capex_usd_per_million_tokens=capex_h * per_m,
                     opex_usd_per_million_tokens=opex_h * per_m, capex_usd=capex,
                     capex_usd_per_hour=capex_h, opex_usd_per_hour=opex_h, tokens_per_s=tps,
                     power_w=p, economics=eco)
