"""The rows and values of ``report.html``'s tables, as plain dicts and strings for the templates (no HTML here).

:func:`key_figures` (the recommendation at a glance), :func:`prior_rows` (the assumptions, from a prior table),
:func:`strategy_rows` and :func:`provider_rows` (the strategies and prices as configured) and
:func:`package_versions` (reproducibility). Numbers go through :mod:`simulator.report.format`.
"""

from __future__ import annotations

import importlib.metadata
import platform

import numpy as np

from simulator.config.providers import pool_provider
from simulator.config.schema import RENTED_KINDS, pool_gpu
from simulator.report.format import money_pm, number_pm, value_label

PRIOR_COLUMNS = ("prior", "distribution", "p10", "p50", "p90", "units", "source", "changed")
PACKAGES = ("gpu-risk", "jax", "jaxlib", "numpy", "xarray", "pandas", "hydra-core", "matplotlib", "jinja2")


def key_figures(analysis) -> list[dict[str, str]]:
    """The recommendation at a glance: label, value and a short note per card (empty without a recommendation).

    Margin ``J(runner-up) - J(best)`` with its pathwise SE and ``margin / SE``; P(best) and expected regret of the
    recommendation on the kept paths, EVPI (:mod:`simulator.decision.robustness`).
    """
    rec = analysis.recommendation
    if rec.best is None:
        return [{"label": "Recommended", "value": "none", "note": "no strategy meets every constraint"}]
    cards = [{"label": "Recommended", "value": str(rec.best), "note": f"lowest {rec.objective}"}]
    if rec.runner_up is not None:
        ratio = rec.margin / rec.margin_se if rec.margin_se > 0 else np.inf
        cards.append({"label": f"Margin over {rec.runner_up}", "value": money_pm(rec.margin, rec.margin_se),
                      "note": f"{ratio:.1f} standard errors" + (" (within noise)" if rec.within_noise else "")})
    risk = getattr(analysis, "robustness", None)
    if risk is not None:
        cards.append({"label": "P(best on a path)", "value": number_pm(100 * risk.p_best, 100 * risk.p_best_se, 1)
                      + "%", "note": "how often it is the cheapest in hindsight"})
        cards.append({"label": "Expected regret", "value": money_pm(risk.regret, risk.regret_se),
                      "note": "cost above the best choice in hindsight"})
        if risk.information is not None:
            cards.append({"label": "EVPI", "value": money_pm(risk.information.evpi, risk.information.evpi_se),
                          "note": "what knowing everything first would save"})
    return cards


def spec_text(spec) -> str:
    """A prior as words: ``3.2``, ``uniform 1-2``, ``lognormal, median 2.5, P90 3.8``, ``normal, mean 0, sd 1``."""
    v = value_label
    return {
        "fixed": lambda: v(spec.value),
        "uniform": lambda: f"uniform {v(spec.low)}–{v(spec.high)}",
        "normal": lambda: f"normal, mean {v(spec.mean)}, sd {v(spec.sd)}",
        "lognormal": lambda: f"lognormal, median {v(spec.median)}, P90 {v(spec.p90)}",
        "beta": lambda: f"beta, mean {v(spec.mean)}, sd {v(spec.sd)}",
    }.get(spec.dist, lambda: str(spec.dist))()


def prior_rows(frame) -> list[dict[str, object]] | None:
    """The prior table's rows, numbers as text (4 significant digits); None without a table.

    ``frame``: a DataFrame with the columns of :data:`PRIOR_COLUMNS` (``changed``: the scenario or an override set
    this prior away from its default).
    """
    if frame is None:
        return None
    missing = [c for c in PRIOR_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"prior table: missing columns {missing}; expected {list(PRIOR_COLUMNS)}")

    def cell(value) -> str:
        if value is None or (isinstance(value, float) and not np.isfinite(value)):
            return "—"
        return value_label(float(value)) if isinstance(value, int | float | np.number) else str(value)

    return [{**{c: cell(r[c]) for c in PRIOR_COLUMNS if c != "changed"}, "changed": bool(r["changed"])}
            for _, r in frame.iterrows()]


def _price(pool, config) -> str:
    """The price a pool pays, as configured: its provider's on-demand price prior (spot: and its discount), the
    purchase price for owned GPUs, each scaled by the GPU type's price ratio; academic and notebook: their priors."""
    gpu = config.gpus.get(pool_gpu(pool))
    if pool.kind in RENTED_KINDS:
        provider = config.providers.get(pool_provider(pool))
        if provider is None:
            return "—"
        text = f"{spec_text(provider.on_demand_usd_per_gpu_hour)} $/GPU-h"
        if pool.kind == "spot":
            text += f", spot discount {spec_text(provider.spot_discount)}"
        ratio = gpu.rent_price_ratio if gpu is not None else 1.0
    elif pool.kind == "owned":
        text, ratio = f"{spec_text(config.priors.market.hardware_usd_per_gpu)} $/GPU", (
            gpu.purchase_price_ratio if gpu is not None else 1.0)
    else:
        return f"priors.{pool.kind}.*"
    return text + (f" × {value_label(ratio)} ({pool_gpu(pool)})" if ratio != 1.0 else "")


def _terms(pool) -> str:
    """What else a pool's config says: tier, hosting, spares, a reservation's term."""
    parts = ["interruptible"] if pool.interruptible else []
    if pool.kind == "owned":
        parts.append(f"hosted {pool.hosting}" + (f", {pool.spares} spares" if pool.spares else ""))
    if pool.kind == "reserved":
        parts.append(f"{pool.term_months}-month term from month {pool.start_month}" + (" (block)" if pool.block else "")
                     + (", renewed" if pool.renew else ""))
    return "; ".join(parts) or "—"


def strategy_rows(config) -> list[dict[str, object]]:
    """Per strategy: its name, description and pools in priority order (kind, provider, GPU type, GPUs, price)."""
    return [{"name": name, "description": s.description,
             "pools": [{"pool": pname, "kind": p.kind, "provider": pool_provider(p), "gpu": pool_gpu(p),
                        "gpus": f"{p.gpus:,}", "serves": ", ".join(p.serves), "terms": _terms(p),
                        "price": _price(p, config)} for pname, p in s.pools.items()]}
            for name, s in config.strategies.items()]


def provider_rows(config) -> list[dict[str, str]]:
    """Per catalogue provider: its type, what it sells and its price priors."""
    return [{"name": name, "type": p.type, "sells": ", ".join(p.sells),
             "on_demand": spec_text(p.on_demand_usd_per_gpu_hour), "spot_discount": spec_text(p.spot_discount),
             "egress": spec_text(p.egress_usd_per_tb)} for name, p in config.providers.items()]


def package_versions() -> list[tuple[str, str]]:
    """``(package, version)`` of Python and the packages a run depends on ("not installed" when absent)."""
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return [("python", platform.python_version()), *((name, version(name)) for name in PACKAGES)]
