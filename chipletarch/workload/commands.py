"""`chipletarch models | ops | traffic | memfit`: the workload commands of the CLI.

`models` lists the bundled models with their parameter counts; `ops MODEL` prints the operator
table of one forward pass on one device (phase, shapes, precision and mapping as options, `--json`
for the columns); `traffic` lists the traffic profiles; `memfit MODEL ARCH` checks that weights,
KV cache and activations fit the package memory and says what would fit if they do not.
"""
from __future__ import annotations

import json

import numpy as np

from .mapping import Mapping
from .memory import check_memory_fit
from .model import PHASES, list_models, load_model
from .traffic import list_traffic, load_traffic


def _mapping_args(p) -> None:
    for name, help_ in (("tp", "tensor-parallel ranks per stage"), ("pp", "pipeline stages"),
                        ("ep", "expert-parallel groups (divides tp)"),
                        ("dp", "independent replicas"),
                        ("attention-dp", "data-parallel attention groups (divides tp)")):
        p.add_argument(f"--{name}", type=int, default=1, help=help_)
    p.add_argument("--dies-per-package", type=int, default=1,
                   help="compute dies per package (rank placement, comm scope)")
    p.add_argument("--scaleup-packages", type=int, default=8,
                   help="packages per scale-up domain (default 8: an HGX H100 NVLink node)")


def _mapping(args) -> Mapping:
    return Mapping(tp=args.tp, pp=args.pp, ep=args.ep, dp=args.dp, attention_dp=args.attention_dp,
                   dies_per_package=args.dies_per_package, scaleup_packages=args.scaleup_packages)


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("models", help="list the bundled transformer models")
    p.set_defaults(func=cmd_models)

    p = subparsers.add_parser("ops", help="operator table of one forward pass on one device")
    p.add_argument("model", metavar="MODEL", help="bundled name, YAML or HF config.json path")
    p.add_argument("--phase", choices=PHASES, default="decode")
    p.add_argument("--batch", type=int, default=1, help="sequences (decode batch for chunked)")
    p.add_argument("--seq-len", type=int, default=None,
                   help="new tokens per sequence (prefill prompt / chunk size; default 1 for "
                        "decode, 1024 otherwise)")
    p.add_argument("--context", type=int, default=0, help="tokens already in the KV cache")
    p.add_argument("--chunk-context", type=int, default=0,
                   help="chunked: tokens of the chunk's sequence already cached")
    p.add_argument("--precision", default=None,
                   help="formats preset (bf16, fp8, w4a8kv8, ...); default: the checkpoint's")
    p.add_argument("--no-absorb", action="store_true", help="MLA: no weight absorption")
    p.add_argument("--json", action="store_true", help="print the columns as JSON")
    _mapping_args(p)
    p.set_defaults(func=cmd_ops)

    p = subparsers.add_parser("traffic", help="list the traffic profiles (ISL/OSL distributions)")
    p.set_defaults(func=cmd_traffic)

    p = subparsers.add_parser("memfit", help="check that a model fits the package memory")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("arch", metavar="ARCH", help="bundled architecture name or YAML path")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--context", type=int, default=0)
    p.add_argument("--precision", default=None)
    p.add_argument("--memory-utilization", type=float, default=1.0,
                   help="usable fraction of the capacity (vLLM default 0.9)")
    _mapping_args(p)
    p.set_defaults(func=cmd_memfit)


def cmd_models(args) -> int:
    print(f"{'name':<18} {'type':<12} {'layers':>6} {'params B':>9} {'active B':>9}  notes")
    for name in list_models():
        m = load_model(name)
        c = m.config
        kind = "MoE" if c.is_moe else "dense"
        extra = [kind]
        if c.mla:
            extra.append("MLA")
        elif c.num_kv_heads < c.num_heads:
            extra.append(f"GQA {c.num_heads}/{c.num_kv_heads}")
        if any(c.layer_window):
            extra.append(f"sliding {max(c.layer_window)}")
        print(f"{name:<18} {c.model_type:<12} {c.num_layers:>6} {m.param_count() / 1e9:>9.2f} "
              f"{m.active_param_count() / 1e9:>9.2f}  {', '.join(extra)}")
    return 0


def cmd_ops(args) -> int:
    m = load_model(args.model)
    seq = args.seq_len if args.seq_len is not None else (1 if args.phase == "decode" else 1024)
    t = m.operators(args.phase, args.batch, seq, args.context, args.precision, _mapping(args),
                    mla_absorb=False if args.no_absorb else None,
                    chunk_context_len=args.chunk_context)
    if args.json:
        out = {k: (v.tolist() if v.dtype != object else [str(x) for x in v])
               for k, v in t.columns.items()}
        print(json.dumps(out))
        return 0
    print(f"{m.name}: {args.phase}, batch {args.batch}, seq_len {seq}, context {args.context}, "
          f"precision {t.meta['precision']}, tp={args.tp} pp={args.pp} ep={args.ep} "
          f"dp={args.dp} attention_dp={args.attention_dp}")
    print(t.summary())
    gemm = np.isin(t.kind, [0, 1])
    print(f"GEMM share of FLOPs: {t.total('flops', gemm) / max(t.total('flops'), 1):.3f}")
    return 0


def cmd_traffic(args) -> int:
    for name in list_traffic():
        t = load_traffic(name)
        print(f"{name:<14} ISL mean {t.isl.mean:>7.0f} ({t.isl.distribution}, sigma "
              f"{t.isl.sigma})  OSL mean {t.osl.mean:>6.0f} ({t.osl.distribution}, sigma "
              f"{t.osl.sigma})  {t.description}")
    return 0


def cmd_memfit(args) -> int:
    from ..arch import load_architecture
    arch = load_architecture(args.arch)
    fit = check_memory_fit(load_model(args.model), arch, _mapping(args), args.batch, args.context,
                           args.precision, memory_utilization=args.memory_utilization)
    print(f"fits: {fit}")
    return 0
