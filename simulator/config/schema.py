"""Typed schema of the whole configuration (Hydra structured configs).

The dataclasses below are registered in Hydra's ``ConfigStore`` as ``schema``; ``conf/config.yaml`` lists it first in
its defaults, so every YAML file and every command-line override is merged onto a typed node. OmegaConf then rejects
unknown keys and wrong types at composition time; :mod:`simulator.config.validate` adds the range checks (``field`` metadata
``ge``/``gt``/``le``/``lt``/``choices``) and the per-distribution checks of every prior.

Only :mod:`simulator.config.validate` and the entry point read these objects; nothing below them sees a ``DictConfig``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

from simulator.config._fields import bounded
from simulator.config.priors import Priors, PriorSpec, prior

POOL_KINDS = ("owned", "on_demand", "spot", "marketplace", "academic", "notebook", "reserved")
# Kinds rented from a provider of the catalogue (``providers``, conf/providers/), with the provider a pool of the kind
# gets when it names none; a strategy may hold several pools of one rented kind (one per provider, say).
RENTED_KINDS = {"on_demand": "hyperscaler", "spot": "hyperscaler", "marketplace": "marketplace",
                "reserved": "hyperscaler"}
# The providers that are not in the catalogue: owned servers (on premises or in colocation), the academic centre and
# the notebook tier, each the only provider of its kind. simulator.engine.kinds checks its rows against these.
BUILTIN_PROVIDERS = {"owned": "onprem", "academic": "academic", "notebook": "notebook"}
PROVIDER_TYPES = ("cloud", "marketplace")  # a catalogue provider's type: which storage price its copies pay
PROVIDER_PRIORS = ("on_demand_usd_per_gpu_hour", "spot_discount", "egress_usd_per_tb")  # providers.NAME.FIELD
RUN_PRIORS = ("gpu_hours", "late_usd_per_day")  # the uncertain fields of a named run (engine: runs.NAME.FIELD)
WORK_KINDS = ("light", "heavy", "runs")  # single-GPU light work, multi-GPU steady work, named training runs
REFERENCE_GPU = "h100"  # work is counted in GPU-hours of this type (H100 SXM, throughput 1)
DEFAULT_GPU = {"academic": "a100", "notebook": "a100"}  # a pool's GPU type when it names none (others: h100)
UNIT_ANCHOR_GPU = "a100"  # notebook.units_per_gpu_hour and the academic.* GPU counts are in GPUs of this type


@dataclass
class GpuType:
    """A GPU type of the ``gpus`` table (``conf/gpus/default.yaml``, where every number has its source).

    ``throughput``: reference (H100 SXM) GPU-hours of training per wall GPU-hour; ``rent_price_ratio``: rental
    price per GPU-hour over an H100's at the same provider; ``purchase_price_ratio``: purchase price over
    ``market.hardware_usd_per_gpu``; ``power_ratio``: server power per GPU over ``owned.kw_per_gpu``;
    ``colab_units_per_hour``: Colab compute units per GPU-hour (null: not on Colab); ``alliance_rgu``: the Alliance's
    reference GPU units per GPU (null: not in its table).
    """

    throughput: float = bounded(1.0, gt=0.0, le=1000.0)
    rent_price_ratio: float = bounded(1.0, gt=0.0, le=1000.0)
    purchase_price_ratio: float = bounded(1.0, gt=0.0, le=1000.0)
    power_ratio: float = bounded(1.0, ge=0.0, le=1000.0)
    colab_units_per_hour: float | None = bounded(None, gt=0.0, le=1e6)
    alliance_rgu: float | None = bounded(None, gt=0.0, le=1e6)


@dataclass
class PoolConfig:
    """A capacity pool of a strategy.

    ``gpus``: the owned fleet ordered at t=0, the rental quota (GPUs at once), the notebook seats (one GPU each),
    or, for ``academic``, an upper bound on GPUs used at once. ``serves``: which work may run there.
    ``interruptible``: the marketplace's cheaper, preemptible tier. ``hosting``: where owned servers live.
    ``spares``: owned GPUs bought (and powered) on top of ``gpus`` and held back: a failed GPU is replaced by a spare
    before the pool offers fewer than ``gpus``. ``provider``: for a rented kind, the provider of the catalogue
    (``providers``) it rents from; it must sell the kind. ``gpu``: its GPU type, a key of the ``gpus``
    table (null: the kind's default, :func:`pool_gpu`).

    ``reserved`` pools only (committed capacity, see :mod:`simulator.engine.reserved`): ``gpus`` are committed,
    take-or-pay, from ``start_month`` (0: now; the price is locked then) for ``term_months`` (12 and 36 are the
    usual terms; Crusoe also sells 6). ``exit_month``: an early exit at that month (null: none); it pays
    ``exit_fee_share`` of the commitment left in the running term (1: the whole of it, as AWS, GCP and Crusoe
    bill; Azure's announced fee is 0.12). ``renew``: at the end of each term, sign another at the then-current
    price. ``resell_idle``: sell the idle committed GPU-hours on an order-book market. ``block``: a capacity block
    (a booked future window: price known and everything paid at t=0, non-cancellable: no exit, no renewal).
    """

    kind: str = bounded("on_demand", choices=POOL_KINDS)
    gpus: int = bounded(0, ge=0, le=1_000_000)
    serves: list[str] = bounded(list(WORK_KINDS), subset_of=WORK_KINDS)
    interruptible: bool = False
    hosting: str = bounded("onprem", choices=("onprem", "colo"))
    spares: int = bounded(0, ge=0, le=1_000_000)
    # the catalogue provider renting the GPUs (rented kinds only; null: the kind's default, RENTED_KINDS)
    provider: str | None = None
    gpu: str | None = None

    start_month: int = bounded(0, ge=0, le=600)
    term_months: int = bounded(12, ge=1, le=600)
    exit_month: int | None = bounded(None, ge=1, le=600)
    exit_fee_share: float = bounded(1.0, ge=0.0, le=1.0)
    renew: bool = False
    resell_idle: bool = False
    block: bool = False


RESERVED_KNOBS = ("start_month", "term_months", "exit_month", "exit_fee_share", "renew", "resell_idle", "block")
"""The :class:`PoolConfig` fields that only ``reserved`` pools take."""

def pool_gpu(pool: PoolConfig) -> str:
    """A pool's GPU type: its ``gpu``, else its kind's default (:data:`DEFAULT_GPU`, else :data:`REFERENCE_GPU`)."""
    return pool.gpu if pool.gpu is not None else DEFAULT_GPU.get(pool.kind, REFERENCE_GPU)


@dataclass
class ExpansionConfig:
    """Owned-fleet expansion: order ``gpus`` more when monthly utilisation stays above the threshold."""

    gpus: int = bounded(0, ge=0, le=1_000_000)  # 0: never expand
    utilisation_threshold: float = bounded(0.85, gt=0.0, le=1.0)
    months_above: int = bounded(2, ge=1, le=120)


SPOT_POLICIES = ("fallback", "wait_while_slack", "uniform_progress")  # StrategyConfig.spot_policy, in code order


@dataclass
class ScheduleConfig:
    """Owned orders at given months (:mod:`simulator.engine.procurement`): ``order_gpus[i]`` GPUs ordered on day
    ``order_months[i] x 365.25 / 12`` (month 0: at t=0, with the pool's ``gpus``; month ``k >= 1``: at the end of
    month ``k - 1``), two parallel lists."""

    order_months: list[int] = field(default_factory=list)
    order_gpus: list[int] = field(default_factory=list)


@dataclass
class BaseStockConfig:
    """Demand-triggered base-stock rule (:mod:`simulator.engine.procurement`): at each month end, order up to
    ``coverage x forecast`` owned GPUs in whole tranches once the target reaches ``trigger_gpus``; 0: off."""

    coverage: float = bounded(0.0, ge=0.0, le=100.0)
    trigger_gpus: float = bounded(0.0, ge=0.0, le=1_000_000.0)
    tranche_gpus: int = bounded(8, ge=1, le=1_000_000)  # 8: a server


@dataclass
class ProcurementConfig:
    """How the owned fleet is bought, financed and sold (:mod:`simulator.engine.procurement`); the defaults change
    nothing (the pool's ``gpus`` at t=0 and the ``expansion`` rule, bought, kept to the horizon).

    ``financing: lease``: every order is leased for ``lease_term_months`` (no capex; ``owned.lease_rate_factor_per_month``
    x price x GPUs a month, GPUs returned at the term's end). ``sell_month``: sell the whole fleet at the end of that
    month (null: never). ``sell_below_utilisation``: sell one tranche of up GPUs after ``months_below`` consecutive
    months below it (0: never)."""

    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    base_stock: BaseStockConfig = field(default_factory=BaseStockConfig)
    financing: str = bounded("buy", choices=("buy", "lease"))
    lease_term_months: int = bounded(36, ge=1, le=600)
    sell_month: int | None = bounded(None, ge=0, le=600)
    sell_below_utilisation: float = bounded(0.0, ge=0.0, le=1.0)
    months_below: int = bounded(3, ge=1, le=120)


@dataclass
class StrategyConfig:
    """A strategy: pools in priority order (the mapping order) and its policy knobs."""

    description: str = ""
    pools: dict[str, PoolConfig] = field(default_factory=dict)
    checkpoint_interval_hours: float = bounded(1.0, gt=0.0, le=10_000.0)
    # a run whose full-speed slack falls in [0, dt) leaves interruptible pools whenever another pool has room
    # (slack < 0, a deadline no pool can meet, keeps it where it is; see simulator/engine/routing.py)
    deadline_aware: bool = True
    # what a deadline run does when no interruptible pool has room: fallback (the next pool), wait_while_slack,
    # uniform_progress; changeover_hours lost per move or resume (null: the move loss (tau + C)/2 + R). See
    # simulator/engine/spot_policy.py (Wu et al., NSDI 2024)
    spot_policy: str = bounded("fallback", choices=SPOT_POLICIES)
    changeover_hours: float | None = bounded(None, ge=0.0, le=10_000.0)
    capex_budget_usd: float | None = bounded(None, ge=0.0)  # cap on owned-GPU purchases (null: no cap)
    expansion: ExpansionConfig = field(default_factory=ExpansionConfig)
    procurement: ProcurementConfig = field(default_factory=ProcurementConfig)


@dataclass
class DataPolicy:
    """Where the data lives, and its constraints: sensitive data may not go to public cloud, marketplaces or
    notebooks, or pays compliance.

    ``home``: the provider holding the dataset (its storage is paid there); every other provider a strategy runs
    work on holds a copy, paid for in storage, and pays the home provider's egress once per copy and again as the
    dataset grows (``priors.storage``).
    """

    home: str = "hyperscaler"  # a catalogue provider, or onprem / academic / notebook
    sensitive: bool = False
    policy: str = bounded("exclude", choices=("exclude", "compliance"))
    compliance_markup: float = bounded(0.25, ge=0.0, le=10.0)  # extra share on cloud spend under `compliance`
    compliance_usd_per_year: float = bounded(0.0, ge=0.0)  # audits, certifications, legal, while cloud is used


@dataclass
class ProviderConfig:
    """A provider of rented GPUs (``providers.NAME``, conf/providers/): what it sells and its prices.

    Prices are per GPU-hour of the reference GPU (H100 SXM) at t=0; they move with the market's price index
    (``market.loading_*``). ``spot_discount`` is the spot (preemptible) tier's discount off its on-demand price;
    ``egress_usd_per_tb`` what data leaving it costs (checkpoints of a run that moves away, copies of the dataset
    when it is the dataset's home). ``gpus``: the GPU types it rents (a pool there must use one; empty: any). ``type``: ``cloud`` or ``marketplace`` (which storage price copies there pay;
    a marketplace's pools are closed to sensitive data by their kind).
    """

    description: str = ""
    type: str = bounded("cloud", choices=PROVIDER_TYPES)
    sells: list[str] = bounded(["on_demand"], subset_of=tuple(RENTED_KINDS))
    on_demand_usd_per_gpu_hour: PriorSpec = prior(ge=0.0)
    spot_discount: PriorSpec = prior(ge=0.0, le=1.0)
    egress_usd_per_tb: PriorSpec = prior(ge=0.0)
    gpus: list[str] = field(default_factory=list)  # GPU types it rents (keys of ``gpus``); empty: any


@dataclass
class RunConfig:
    """A named training run: total work, width, start and deadline (days from the start of the horizon), and what
    lateness costs: ``late_usd_per_day`` per day past the deadline (a prior), plus ``missed_usd`` once if it finishes
    more than ``missed_after_days`` late (null: no cut-off)."""

    gpu_hours: PriorSpec = prior(gt=0.0)
    gpus: int = bounded(8, ge=1, le=1_000_000)
    start_day: float = bounded(0.0, ge=0.0)
    deadline_day: float = bounded(30.0, gt=0.0)
    # [U] default: a slipped foundation run idles a ~10-person ML team (~$230k loaded each, PRIORS-2 5: ~$6k/day)
    # and delays what it was for (a launch, a raise); median $10k/day, p90 $50k/day. Set your own per run.
    late_usd_per_day: PriorSpec = field(
        default_factory=lambda: PriorSpec(dist="lognormal", median=10_000.0, p90=50_000.0), metadata=dict(ge=0.0))
    missed_usd: float = bounded(0.0, ge=0.0)
    missed_after_days: float | None = bounded(None, ge=0.0)


@dataclass
class EngineConfig:
    # a whole number of paths, or "auto": add chunks of chunk_size paths until decision.target_relative_se and the
    # top-two ranking are met, at most max_paths (see simulate.run_until); typed Any because OmegaConf 2.3 has no
    # int | str union; simulator/config/validate.py checks it
    paths: Any = bounded(10_000, ge=1, le=1_000_000_000)
    max_paths: int = bounded(200_000, ge=1, le=1_000_000_000)
    chunk_size: int = bounded(10_000, ge=1, le=10_000_000)
    seed: int = bounded(0, ge=0, le=2**31 - 1)
    horizon_months: int = bounded(36, ge=1, le=600)
    step_days: float = bounded(1.0, gt=0.0, le=31.0)
    discount_rate_per_year: float = bounded(0.35, ge=0.0, le=1.0)  # the company's cost of capital (conf/engine)
    dtype: str = bounded("float32", choices=("float32", "float64"))
    # owned order slots per strategy when a strategy uses a procurement policy (orders pending, leases held; see
    # simulator/engine/procurement.py); 1 otherwise
    max_pending_orders: int = bounded(4, ge=1, le=64)
    compilation_cache: bool = True  # persist compiled engines in .jax_cache/ (command line runs)
    # a streamed run (paths > report.path_level_paths) saves RUN_DIR/checkpoint.npz this often (0: after every
    # chunk); resume with `python -m simulator rerun RUN_DIR --resume` (simulator/app/checkpoint.py)
    checkpoint_minutes: float = bounded(5.0, ge=0.0, le=10_000.0)
    # split a streamed run's chunks into this many contiguous shards, run as jobs of hydra/launcher and merged
    # (simulator/app/shards.py, `python -m simulator merge RUN_DIR`)
    shards: int = bounded(1, ge=1, le=100_000)
    # per-path prior draws: pseudo-random ("mc") or qmc_scrambles independently scrambled Sobol sequences ("qmc",
    # simulator/engine/qmc.py); a qmc run's SEs come from the spread between its scrambles (simulator/stats/replicates.py)
    sampling: str = bounded("mc", choices=("mc", "qmc"))
    # a divisor of the 64-path block, so every chunk (whole blocks) starts a new round of scrambles: the scramble of a
    # path is the same in a sequential, resumed or sharded run
    qmc_scrambles: int = bounded(16, choices=(2, 4, 8, 16, 32, 64))
    # counter-based PRNG of every random stream (simulator/engine/_keys.py): threefry (threefry2x32) or philox
    # (philox4x32); changing it changes every draw, not the distributions (benchmarks/RESULTS.md: which is faster);
    # philox runs on one device only (JAX 0.10.2 cannot lower it inside shard_map)
    prng: str = bounded("threefry", choices=("threefry", "philox"))
    # multi-host JAX (simulator/app/distributed.py): jax.distributed.initialize() before the run, only process 0
    # writes; the three settings default (null) to what JAX reads from Slurm's or Open MPI's environment
    distributed: bool = False
    coordinator_address: str | None = None  # "host:port" of process 0
    num_processes: int | None = bounded(None, ge=1, le=1_000_000)
    process_id: int | None = bounded(None, ge=0, le=999_999)

    @property
    def scrambles(self) -> int:
        """``qmc_scrambles`` of a ``qmc`` run (its SEs come from the spread between scrambles), 0 for ``mc``."""
        return self.qmc_scrambles if self.sampling == "qmc" else 0


@dataclass
class ReportConfig:
    plots: bool = True
    print_summary: bool = True
    trajectory_paths: int = bounded(2000, ge=0)
    # path-level outputs are kept for at most this many paths; a longer run streams its statistics over all paths
    # (engine.paths=auto keeps every path it runs, at most engine.max_paths: its stopping rule reads them)
    path_level_paths: int = bounded(100_000, ge=1, le=1_000_000_000)
    sketch_relative_accuracy: float = bounded(1e-3, gt=0.0, lt=0.5)  # quantiles of streamed runs: |error| <= a |q|
    progress: bool = True  # progress bar (terminal) or log lines (files) on runs longer than a few seconds
    quantiles: list[float] = bounded([0.05, 0.5, 0.95])


@dataclass
class SensitivityConfig:
    """Which priors move the decision: first-order indices on the per-path draws, and a re-run tornado."""

    enabled: bool = True
    tornado_priors: int = bounded(6, ge=0, le=1000)  # re-run this many priors (largest indices first); 0: none
    tornado_paths: int = bounded(256, ge=1, le=10_000_000)  # paths per tornado run (common random numbers)
    low_quantile: float = bounded(0.1, gt=0.0, lt=0.5)  # each prior pinned at this quantile ...
    high_quantile: float = bounded(0.9, gt=0.5, lt=1.0)  # ... and at this one
    harmonics: int = bounded(10, ge=1, le=1000)  # RBD-FAST harmonics (SALib's M)
    resamples: int = bounded(100, ge=10, le=100_000)  # bootstrap resamples for the indices' SEs


@dataclass
class VoiConfig:
    """Decision risk, value of information (EVPI, EVPPI) and scenario discovery (PRIM) on the per-path draws."""

    enabled: bool = True  # EVPPI, P(ranking flips) and PRIM (P(best) and regret are always reported)
    knots: int = bounded(7, ge=3, le=20)  # natural cubic spline knots per prior (quantiles of its draws)
    resamples: int = bounded(100, ge=10, le=100_000)  # bootstrap resamples over paths for the SEs
    max_paths: int = bounded(20_000, ge=100, le=10_000_000)  # the first this many kept paths feed the regressions
    peel: float = bounded(0.05, gt=0.0, lt=0.5)  # PRIM: share of the box peeled per step
    min_coverage: float = bounded(0.5, gt=0.0, le=1.0)  # PRIM: the densest box with at least this coverage


@dataclass
class DecisionConfig:
    """Risk preference and constraints of the recommendation (a strategy must meet every constraint)."""

    objective: str = bounded("mean", choices=("mean", "quantile", "cvar"))  # of the present-value cost
    level: float = bounded(0.95, gt=0.0, lt=1.0)  # quantile / VaR / CVaR level
    confidence: float = bounded(0.95, gt=0.5, lt=1.0)  # of CIs, and of "within noise" (two-sided z)
    budget_usd: float | None = bounded(None, gt=0.0)  # total present-value budget; null: none
    max_p_over_budget: float = bounded(1.0, ge=0.0, le=1.0)
    capex_budget_usd: float | None = bounded(None, ge=0.0)  # undiscounted purchases; null: none
    max_p_over_capex_budget: float = bounded(0.05, ge=0.0, le=1.0)
    funding_usd: float | None = bounded(None, gt=0.0)  # cash on hand for compute until the next raise; null: none
    funding_month: int | None = bounded(None, ge=0, le=600)  # month of the next raise; null: the whole horizon
    max_p_out_of_cash: float = bounded(0.05, ge=0.0, le=1.0)  # P(cash needed before the raise > funding_usd)
    max_p_late: float = bounded(0.25, ge=0.0, le=1.0)  # P(some training run misses its deadline)
    max_mean_delay_days: float | None = bounded(7.0, ge=0.0)  # mean backlog-weighted delay; null: none
    excluded_pool_kinds: list[str] = bounded([], subset_of=POOL_KINDS)  # e.g. data may not leave the premises
    target_relative_se: float = bounded(0.01, gt=0.0, lt=1.0)  # engine.paths=auto: SE / |objective| of the best
    sensitivity: SensitivityConfig = field(default_factory=SensitivityConfig)
    optimise_strategy: str | None = None  # a multirun job (Optuna) returns this strategy's objective; null: the best's
    voi: VoiConfig = field(default_factory=VoiConfig)


@dataclass
class SweepConfig:
    """An in-engine sweep: numeric knobs of one strategy (dotted paths) and the values to evaluate in one run.

    Either one knob (``knob`` and ``values``) or a grid of 1-3 knobs (``knobs: {path: [values]}``, the cartesian
    product); see :mod:`simulator.config.sweeps`.
    """

    strategy: str = ""
    knob: str = ""  # e.g. pools.base.gpus, checkpoint_interval_hours, expansion.utilisation_threshold
    values: list[float] = field(default_factory=list)
    # a grid: {pools.base.gpus: [0, 16], expansion.gpus: [8]}; Any: OmegaConf 2.3 rejects ints in a nested
    # List[float] (config/sweeps.py checks the values are numbers)
    knobs: dict[str, Any] = field(default_factory=dict)


@dataclass
class PriorMapConfig:
    """A decision map of a one-knob in-engine sweep over bins of one prior (:mod:`simulator.sweeps.prior_map`): in
    which range of ``prior`` each knob value is best, and by how much it beats the strategy ``versus``."""

    sweep: str = ""  # a sweep of one knob
    prior: str = ""  # dotted prior name, e.g. workload.growth_multiplier_per_year
    versus: str = ""  # a strategy of the scenario (not swept), e.g. the best all-rented one
    bins: int = bounded(5, ge=2, le=20)  # quantile bins of the prior's per-path draws


@dataclass
class CorrelationConfig:
    """A rank (Spearman) correlation between two priors, applied with a Gaussian copula (as @RISK / Crystal Ball do).

    ``a``, ``b``: dotted prior names of the flat prior table (``market.drift_per_year``,
    ``workload.growth_multiplier_per_year``, ``runs.NAME.gpu_hours``); ``rank``: the Spearman correlation of their
    per-path draws, in (-1, 1). In YAML: ``correlations: [{a: market.drift_per_year, b: providers.hyperscaler.spot_discount,
    rank: 0.6}]``. Each pair once, never a prior with itself or a fixed prior, and the declared ranks together must
    give a positive definite matrix (:mod:`simulator.config.correlations`). Marginals are unchanged; priors left
    out stay independent.
    """

    a: str = ""
    b: str = ""
    rank: float = bounded(0.0, gt=-1.0, lt=1.0)


@dataclass
class Config:
    scenario: str = ""
    description: str = ""
    strategies: dict[str, StrategyConfig] = field(default_factory=dict)
    runs: dict[str, RunConfig] = field(default_factory=dict)
    data: DataPolicy = field(default_factory=DataPolicy)
    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    gpus: dict[str, GpuType] = field(default_factory=dict)  # GPU types by name (conf/gpus/default.yaml)
    priors: Priors = field(default_factory=Priors)
    engine: EngineConfig = field(default_factory=EngineConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    sweeps: dict[str, SweepConfig] = field(default_factory=dict)
    prior_maps: dict[str, PriorMapConfig] = field(default_factory=dict)  # decision maps of sweeps over a prior
    correlations: list[CorrelationConfig] = field(default_factory=list)  # rank correlations between priors
    # `overwrite=true`: write into an explicit hydra.run.dir / hydra.sweep.dir that already holds a run
    # (refused otherwise: simulator/config/run_dirs.py); the default directory is always a new one
    overwrite: bool = False


def register() -> None:
    """Register the schema in Hydra's ConfigStore (idempotent)."""
    ConfigStore.instance().store(name="schema", node=Config)
