"""Manufacturing cost of chiplet packages (COST_MODEL.md in ../shared/reference; docs/COST.md).

Layers, each usable on its own:
  model      pure functions: dies per wafer, yield models, KGD die cost, assembly scrap, HBM stack
             price, NRE amortisation (numbers in, $ out)
  recurring  per-unit cost of a package from plain die / stack / packaging numbers
  split      monolithic vs n-chiplet cost ratio and the crossover area
  package    `package_cost(arch, volume=...)` for an `Architecture` (catalog parameters)
  economics  $ per million tokens from capex and opex for a simulated throughput
  commands   the `chipletarch cost` CLI command
"""
from __future__ import annotations

from .economics import Economics, TokenCost, token_cost
from .model import (YIELD_MODELS, DieCost, amortised_nre, bond_yield, die_cost, die_design_nre,
                    die_yield, dies_per_wafer, dies_per_wafer_classic, harvested_yield,
                    hbm_stack_price)
from .package import CostOptions, Harvest, PackageCost, family_cost, package_cost
from .params import NodeCost, PackagingCost
from .recurring import DieSpec, RecurringCost, StackSpec, recurring_cost
from .split import chiplet_cost, crossover_area, crossover_table, monolithic_cost, split_ratio

__all__ = [
    "YIELD_MODELS", "DieCost", "amortised_nre", "bond_yield", "die_cost", "die_design_nre",
    "die_yield", "dies_per_wafer", "dies_per_wafer_classic", "harvested_yield", "hbm_stack_price",
    "NodeCost", "PackagingCost", "DieSpec", "RecurringCost", "StackSpec", "recurring_cost",
    "chiplet_cost", "crossover_area", "crossover_table", "monolithic_cost", "split_ratio",
    "CostOptions", "Harvest", "PackageCost", "family_cost", "package_cost",
    "Economics", "TokenCost", "token_cost",
]
