"""`chipletarch energy ARCH MODEL ...`: energy of one design point (docs/ENERGY_MODEL.md).

Takes the same design-point options as `chipletarch run` (phase, batch, lengths, precision,
mapping); prints J per step, J/token, energy by component and by operator class, the most
energetic operators, and average package power against TDP. `--throttle` lowers the compute
clock until the package meets TDP (DVFS, re-simulated); `--json` prints the whole report.
"""
from __future__ import annotations

from ..engine.commands import _point_args  # the `run` options, so both commands stay in step


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("energy", help="energy of one design point: J/token by component and "
                                             "operator, average power against TDP")
    p.add_argument("arch", metavar="ARCH", help="bundled architecture name or YAML path")
    _point_args(p, model_positional=True)
    p.add_argument("--throttle", action="store_true",
                   help="if average power exceeds TDP, lower the compute clock (V ∝ f) and re-simulate "
                        "until it does not")
    p.add_argument("--top", type=int, default=12, help="operators listed (default 12; 0: none)")
    p.add_argument("--json", action="store_true", help="print the whole EnergyReport as JSON")
    p.set_defaults(func=cmd_energy)


def cmd_energy(args) -> int:
    from ..arch import load_architecture
    from .throttle import simulate_with_energy

    arch = load_architecture(args.arch)
    seq = args.seq_len if args.seq_len is not None else (1 if args.phase == "decode" else 1024)
    rep = simulate_with_energy(
        arch, args.model, args.phase, throttle_to_tdp=args.throttle, batch=args.batch, seq_len=seq,
        context_len=args.context_len, precision=args.precision, tp=args.tp, pp=args.pp, ep=args.ep,
        dp=args.dp, attention_dp=args.attention_dp, devices_per_package=args.devices_per_package,
        chunk_context_len=args.chunk_context_len, check_memory=not args.no_memory_check)
    print(rep.to_json() if args.json else rep.summary(top=args.top))
    return 0
