"""Parallel mapping: how a model is split over compute dies and packages.

`Mapping(tp, pp, ep, dp, attention_dp)` describes one deployment:

* ``dp`` independent replicas (no communication between them), each of ``pp`` pipeline stages of
  ``tp`` ranks; a rank is one compute die. World size = dp * pp * tp.
* Inside a stage, attention runs on ``attention_dp`` data-parallel groups of ``tp/attention_dp``
  tensor-parallel ranks (SGLang's "DP attention"); dense MLPs are tensor-parallel over all ``tp``
  ranks; MoE experts are spread over ``ep`` expert-parallel groups (``ep`` divides ``tp``), each
  expert split ``tp/ep`` ways.
* Rank numbering puts TP innermost, then PP, then DP: rank = (replica * pp + stage) * tp + t.
  Ranks fill packages in order (``dies_per_package`` dies each), packages fill scale-up domains
  (``scaleup_packages`` packages each). A collective's `comm_scope` is 0 if every group of that
  kind stays within one package (die-to-die links), 1 if within one scale-up domain, else 2.

The default scale-up domain, 8 packages, is an HGX/DGX H100 node (8 GPUs on NVLink/NVSwitch,
NVIDIA DGX H100 user guide); pass the real value, or use `Mapping.for_architecture`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..errors import InfeasibleError, SpecError

SCOPE_PACKAGE, SCOPE_SCALEUP, SCOPE_SCALEOUT = 0, 1, 2


@dataclass(frozen=True)
class Mapping:
    """Parallel mapping of a model onto dies and packages (see the module docstring)."""

    tp: int = 1
    pp: int = 1
    ep: int = 1
    dp: int = 1
    attention_dp: int = 1
    dies_per_package: int = 1
    scaleup_packages: int = 8

    def __post_init__(self):
        for f in ("tp", "pp", "ep", "dp", "attention_dp", "dies_per_package", "scaleup_packages"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise SpecError(f"Mapping.{f} must be a positive integer, got {v!r}")
        if self.tp % self.attention_dp:
            raise InfeasibleError(f"Mapping: attention_dp={self.attention_dp} must divide "
                                  f"tp={self.tp} (attention groups are carved out of the TP group)")
        if self.tp % self.ep:
            raise InfeasibleError(f"Mapping: ep={self.ep} must divide tp={self.tp} (expert-"
                                  f"parallel groups are carved out of the TP group; each expert "
                                  f"is split tp/ep ways)")
        if self.ep > 1 and self.attention_dp > 1 and not (self.ep == self.tp == self.attention_dp):
            raise InfeasibleError(
                f"Mapping: with attention_dp > 1 and ep > 1 only ep == tp == attention_dp is "
                f"modelled (DeepEP-style all-to-all over ranks that each own their tokens); got "
                f"tp={self.tp} ep={self.ep} attention_dp={self.attention_dp}")

    @classmethod
    def for_architecture(cls, arch, *, scaleup_packages: int | None = None, **kw) -> "Mapping":
        """A mapping placed on `arch`: dies_per_package = its compute dies; scaleup_packages =
        its scale-up port's `domain_size` when it has one (else the argument, else 8)."""
        dies = len(arch.compute_die_instances())
        if scaleup_packages is None:
            port = getattr(arch, "scale_up", None)
            scaleup_packages = int(getattr(port, "domain_size", 0) or 8)
        return cls(dies_per_package=max(1, dies), scaleup_packages=scaleup_packages, **kw)

    @property
    def world(self) -> int:
        return self.tp * self.pp * self.dp

    @property
    def attn_tp(self) -> int:
        """Tensor-parallel degree of attention (tp / attention_dp)."""
        return self.tp // self.attention_dp

    @property
    def expert_tp(self) -> int:
        """Ways each expert's intermediate dimension is split (tp / ep)."""
        return self.tp // self.ep

    @property
    def moe_mode(self) -> str:
        """'tp' (experts split by TP), 'ep_replicated' (EP over replicated tokens, all-reduce
        combine) or 'ep_a2a' (tokens owned per rank, all-to-all dispatch and combine)."""
        if self.ep == 1:
            return "tp"
        return "ep_a2a" if self.attention_dp > 1 else "ep_replicated"

    def scopes(self) -> dict:
        """comm_scope of each group kind: 'attn_tp', 'tp' (also EP), 'pp'."""
        return _scopes(self.tp, self.pp, self.dp, self.attention_dp, self.dies_per_package,
                       self.scaleup_packages)

    def validate(self, config) -> None:
        """Check the split against a ModelConfig; InfeasibleError says what does not divide."""
        c = config
        ta = self.attn_tp
        if c.num_heads % ta:
            raise InfeasibleError(
                f"{c.name}: num_attention_heads={c.num_heads} is not divisible by the attention "
                f"TP degree {ta} (tp={self.tp} / attention_dp={self.attention_dp}); valid: "
                f"{_divisors(c.num_heads)}")
        if not c.mla:
            kv = c.num_kv_heads
            if ta <= kv and kv % ta:
                raise InfeasibleError(
                    f"{c.name}: num_key_value_heads={kv} is not divisible by attention TP {ta}")
            if ta > kv and ta % kv:
                raise InfeasibleError(
                    f"{c.name}: attention TP {ta} > num_key_value_heads={kv} needs TP to be a "
                    f"multiple of the KV heads (each KV head is replicated tp/kv times)")
        if c.intermediate_size % self.tp and not all(c.layer_moe):
            raise InfeasibleError(f"{c.name}: intermediate_size={c.intermediate_size} is not "
                                  f"divisible by tp={self.tp}")
        if c.num_layers % self.pp:
            raise InfeasibleError(
                f"{c.name}: num_hidden_layers={c.num_layers} is not divisible by pp={self.pp}; "
                f"valid pp: {_divisors(c.num_layers)}")
        if c.is_moe:
            if c.num_experts % self.ep:
                raise InfeasibleError(
                    f"{c.name}: {c.num_experts} experts are not divisible by ep={self.ep}; valid "
                    f"ep: {_divisors(c.num_experts)}")
            if c.moe_intermediate_size % self.expert_tp:
                raise InfeasibleError(
                    f"{c.name}: moe_intermediate_size={c.moe_intermediate_size} is not divisible "
                    f"by the expert TP degree tp/ep={self.expert_tp}")
            if c.shared_intermediate_size and self.moe_mode != "ep_a2a" and \
                    c.shared_intermediate_size % self.tp:
                raise InfeasibleError(
                    f"{c.name}: shared expert width {c.shared_intermediate_size} is not "
                    f"divisible by tp={self.tp}")
        elif self.ep > 1:
            raise InfeasibleError(f"{c.name}: ep={self.ep} but the model has no experts")


def _divisors(n: int) -> str:
    return ", ".join(str(d) for d in range(1, n + 1) if n % d == 0)


@lru_cache(maxsize=1024)
def _scopes(tp, pp, dp, adp, dpp, sup) -> dict:
    def scope(ranks) -> int:
        pk = {r // dpp for r in ranks}
        if len(pk) == 1:
            return SCOPE_PACKAGE
        dom = {p // sup for p in pk}
        return SCOPE_SCALEUP if len(dom) == 1 else SCOPE_SCALEOUT

    ta = tp // adp
    s_attn = s_tp = s_pp = SCOPE_PACKAGE
    for d in range(dp):
        for s in range(pp):
            base = (d * pp + s) * tp
            s_tp = max(s_tp, scope(range(base, base + tp)))
            for a in range(adp):
                s_attn = max(s_attn, scope(range(base + a * ta, base + (a + 1) * ta)))
            if s + 1 < pp:
                for t in range(tp):
                    s_pp = max(s_pp, scope((base + t, base + tp + t)))
    return {"attn_tp": s_attn, "tp": s_tp, "pp": s_pp}
