"""Architecture spec layer: schema, catalog of named defaults, YAML loader, graph and CLI commands.

Public API (see docs/ARCHITECTURE.md "Architecture API" and docs/YAML_REFERENCE.md):
`Architecture` (alias `Package`), the die kinds `ComputeDie`, `IODie`, `SramDie`,
`MemoryControllerDie`, their `Core` / `Systolic`, `MemoryStack`, `Link`, `LinkParams`, `Topology`,
`Port`, `Efficiency`; `load_architecture(name_or_path)`, `list_architectures()`; topology helpers
`all_to_all`, `ring`, `mesh`, `star`; graph queries in `chipletarch.arch.graph`.
"""
from __future__ import annotations

from .catalog import LINK_STANDARDS, MEMORY_GENERATIONS, PACKAGE_TECHNOLOGIES, PROCESS_NODES
from .efficiency import Efficiency
from .loader import architecture_from_yaml, list_architectures, load_architecture
from .schema import (Architecture, ComputeDie, Core, IODie, Link, LinkParams, MemoryControllerDie, MemoryStack,
                     Package, Port, SramDie, Systolic, Topology)
from .topology import all_to_all, mesh, ring, star

__all__ = [
    "Architecture", "Package", "ComputeDie", "IODie", "SramDie", "MemoryControllerDie", "Core", "Systolic",
    "MemoryStack", "Link", "LinkParams", "Topology", "Port", "Efficiency",
    "load_architecture", "list_architectures", "architecture_from_yaml",
    "all_to_all", "ring", "mesh", "star",
    "PROCESS_NODES", "MEMORY_GENERATIONS", "LINK_STANDARDS", "PACKAGE_TECHNOLOGIES",
]
