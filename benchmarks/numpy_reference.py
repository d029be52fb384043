"""A plain vectorized NumPy implementation of the engine's model, for benchmarks and as an independent check.

It implements the same drivers, pools, routing, costs and step as :mod:`simulator.engine` (the formulas are in the
docstrings of :mod:`simulator.engine.processes`, :mod:`simulator.engine.pools`, :mod:`simulator.engine.routing` and
:mod:`simulator.engine.accounting`, :mod:`simulator.engine.ownership`, :mod:`simulator.engine.shortfall`) for
strategies made of ``owned``, ``on_demand`` and ``spot`` pools, with named training
runs and light/heavy steady demand: the features of ``scenario=hybrid``. It is written the way a competent NumPy user
would write it: a ``numpy.random.Generator``, arrays over paths, Python loops over time steps, strategies and pools,
kind-specific code per pool, ``Generator.poisson`` where a hazard can be non-zero, float64 throughout. GPU types
(the config's ``gpus`` table) as in :mod:`simulator.engine.strategies`: a pool's throughput ``f`` turns its wall
GPU-hours into reference work, rented pools pay the H100 price times ``rent_price_ratio``, owned GPUs cost
``purchase_price_ratio`` times the H100 price and draw ``power_ratio`` times ``owned.kw_per_gpu``.

Its random numbers differ from the engine's (a different generator, and Poisson counts drawn per strategy rather
than shared), so it agrees with the engine in distribution, not path by path: ``tests/test_numpy_reference.py``
compares the means of cost, spend, shortfall, delay and lateness per strategy with a z-test. Shared drivers (demand, price index, spot
availability, the market regime, the spot pool's good or bad hazard, each run's spot obtainability draw, the owned
fleet's failures within a strategy) are common to all strategies, as in the engine.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from simulator.config.providers import pool_provider, provider_names, storage_classes
from simulator.config.schema import Config, GpuType, pool_gpu
from simulator.engine import DAYS_PER_MONTH, DAYS_PER_WEEK, DAYS_PER_YEAR, HOURS_PER_DAY
from simulator.engine.priors import Prior, prior_table
from simulator.engine.strategies import COST_CATEGORIES, SHORTFALL_CATEGORIES

SUPPORTED_KINDS = ("owned", "on_demand", "spot")
CATEGORY = {name: i for i, name in enumerate(COST_CATEGORIES)}
RENTED = ("on_demand", "spot")  # kinds rented by the GPU-hour (cloud operations)


def _sample_prior(p: Prior, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` draws of a prior in engine form (see :class:`simulator.engine.priors.Prior`), clipped to its domain."""
    a, b, low, high = (float(np.asarray(v)) for v in (p.a, p.b, p.low, p.high))
    if p.dist == "fixed":
        x = np.full(n, a)
    elif p.dist == "uniform":
        x = rng.uniform(a, b, n)
    elif p.dist == "normal":
        x = rng.normal(a, b, n)
    elif p.dist == "lognormal":
        x = np.exp(rng.normal(a, b, n))
    else:
        x = rng.beta(a, b, n)
    return np.clip(x, low, high)


def _late_usd(lateness: np.ndarray, per_day: np.ndarray, run) -> np.ndarray:
    """Lateness cost of a run: ``l lateness + m 1[lateness > a]`` (no cut-off when ``missed_after_days`` is None)."""
    cut = np.inf if run.missed_after_days is None else run.missed_after_days
    return per_day * lateness + np.where(lateness > cut, run.missed_usd, 0.0)


def _egress(provider: np.ndarray | int, egress: list) -> np.ndarray:
    """USD per TB leaving a provider id (``egress[id]``; -1, not started: 0)."""
    out = np.zeros(np.shape(provider))
    for q, usd in enumerate(egress):
        out = np.where(provider == q, usd, out)
    return out


@dataclasses.dataclass
class _Pool:
    kind: str
    gpus: float
    serves: tuple[str, ...]
    provider: int  # provider id (index in the provider universe)
    gpu: GpuType  # its GPU type's row

    @property
    def f(self) -> float:
        """Reference GPU-hours per wall GPU-hour."""
        return self.gpu.throughput

    @property
    def rent(self) -> float:
        """Price per GPU-hour over an H100's (rented kinds; 1 for owned)."""
        return self.gpu.rent_price_ratio if self.kind in RENTED else 1.0


def _outside(strategy) -> str | None:
    """The first pool of a strategy the reference does not model, as ``"pool: why"``; None if it models them all."""
    for pool_name, pool in strategy.pools.items():
        if pool.kind not in SUPPORTED_KINDS or pool.hosting != "onprem" or pool.interruptible:
            return (f"pools.{pool_name}: kind {pool.kind!r} (hosting {pool.hosting!r}, interruptible "
                    f"{pool.interruptible})")
    return None


def reference_scope(cfg: Config) -> Config:
    """The config with only the strategies the reference models (``scenario=hybrid``'s on-demand, spot, on-prem and
    hybrid strategies, say), for side-by-side runs of the engine and the reference."""
    kept = {name: s for name, s in cfg.strategies.items() if _outside(s) is None}
    return dataclasses.replace(cfg, strategies=kept)


def _check_scope(cfg: Config) -> None:
    """Refuse, by design, what the reference does not model (it is a benchmark of ``scenario=hybrid``'s features).

    Raises ``ValueError`` naming the strategy and pool, or the data policy, and what the reference accepts.
    """
    for name, strategy in cfg.strategies.items():
        why = _outside(strategy)
        if why is not None:
            raise ValueError(f"strategies.{name}.{why} is outside the NumPy reference, which models "
                             f"{', '.join(SUPPORTED_KINDS)} pools hosted onprem, not interruptible; use the engine "
                             "(or reference_scope(cfg))")
    if cfg.data.sensitive:
        raise ValueError("data.sensitive = true: the NumPy reference has no data policy; use the engine")


def simulate_numpy(cfg: Config, paths: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Simulate ``paths`` paths of every strategy of ``cfg``; returns arrays with a leading path axis.

    Outputs: ``cost``, ``spend`` and ``shortfall`` (N, S) present value, ``cost_by_category`` (N, S, C), ``delay``
    (N, S) days,
    ``run_finish_day`` and ``run_lateness_days`` (N, S, R), ``owned_failures`` and ``spot_interruptions`` (N, S),
    ``shortage_months`` (N,).
    """
    rng = np.random.default_rng(seed)
    n = paths
    priors = prior_table(cfg)
    th = {name: _sample_prior(p, rng, n) for name, p in priors.items()}
    strategies = list(cfg.strategies.values())
    _check_scope(cfg)
    n_s, runs = len(strategies), list(cfg.runs.values())
    n_r = len(runs)
    steps_per_month = max(1, round(DAYS_PER_MONTH / cfg.engine.step_days))
    dt = DAYS_PER_MONTH / steps_per_month
    hours, dt_y = HOURS_PER_DAY * dt, dt / DAYS_PER_YEAR
    horizon = cfg.engine.horizon_months * DAYS_PER_MONTH
    rate = cfg.engine.discount_rate_per_year
    n_cat = len(COST_CATEGORIES)

    # Shared drivers.
    log_demand = np.log(np.maximum(th["workload.base_gpu_hours_per_day"], np.finfo(float).tiny))
    log_index = np.zeros(n)
    # Market regime (normal / shortage), drawn from its stationary distribution; spot's first state in that regime.
    q = th["regime.shortage_fraction"]
    shortage = rng.random(n) < q
    shortage_months = np.zeros(n)
    f_short = th["regime.spot_unavailable_fraction"]
    spot_available = rng.random(n) >= np.where(shortage, f_short, th["spot.unavailable_fraction"])
    p_exit = np.where(q >= 1.0, 0.0, -np.expm1(-dt / (th["regime.shortage_spell_months"] * DAYS_PER_MONTH)))
    p_enter = np.where(q >= 1.0, 1.0, np.minimum(1.0, p_exit * q / np.maximum(1.0 - q, 1e-12)))
    m_rent, m_hw, m_lead = (th[f"regime.{x}_multiplier"] for x in ("rental_price", "hardware_price", "lead_time"))
    # The spot pool: bad (trace-like hazard) with probability b, else good.
    reclaim = np.where(rng.random(n) < th["spot.bad_pool_probability"], th["spot.bad_reclaim_per_instance_hour"],
                       th["spot.reclaim_per_instance_hour"])
    instances = [np.maximum(np.ceil(run.gpus / th["spot.gpus_per_instance"]), 1.0)
                 for run in cfg.runs.values()]
    p_obtain = [th["spot.obtain_16_probability"] ** ((k - 1.0) / 15.0) for k in instances]
    demand_drift = (np.log(th["workload.growth_multiplier_per_year"])
                    - 0.5 * th["workload.volatility_per_year"] ** 2) * dt_y
    demand_vol = th["workload.volatility_per_year"] * np.sqrt(dt_y)
    index_drift = (th["market.drift_per_year"] - 0.5 * th["market.volatility_per_year"] ** 2) * dt_y
    index_vol = th["market.volatility_per_year"] * np.sqrt(dt_y)
    energy = th["owned.kw_per_gpu"] * th["onprem.pue"] * th["market.electricity_usd_per_kwh"]
    busy_power = energy * (1.0 - th["owned.idle_power_fraction"])
    ckpt_cost, restart = th["workload.checkpoint_cost_hours"], th["workload.restart_hours"]
    light_share = th["workload.light_fraction"]
    # per provider id: catalogue providers' priors (built-in providers: no price, no egress)
    offer = lambda field: [th.get(f"providers.{q}.{field}", np.zeros(n)) for q in provider_names(cfg)]  # noqa: E731
    od_base, spot_discount, egress = offer("on_demand_usd_per_gpu_hour"), offer("spot_discount"), \
        offer("egress_usd_per_tb")
    rho = np.maximum(th["owned.resale_retention_per_year"], 1e-6)
    lead_prior = priors["owned.lead_time_weeks"]
    run_size = [th[f"runs.{name}.gpu_hours"] for name in cfg.runs]
    job = th["workload.job_interrupt_per_gpu_hour"]  # job interrupts per GPU-hour on every pool
    job_owned = np.maximum(job - th["owned.failure_per_gpu_hour"], 0.0)  # beyond the hardware-down failures

    # Per-strategy state.
    names = provider_names(cfg)
    pools = [[_Pool(p.kind, float(p.gpus), tuple(p.serves), names.index(pool_provider(p)),
                    cfg.gpus.get(pool_gpu(p), GpuType())) for p in s.pools.values()] for s in strategies]
    owned_row = [next((p.gpu for p in ps if p.kind == "owned"), GpuType()) for ps in pools]
    buy_ratio = [row.purchase_price_ratio for row in owned_row]  # owned GPU price / the H100 price
    kw_ratio = [row.power_ratio for row in owned_row]  # owned kW per GPU / owned.kw_per_gpu
    efficiency = [s.checkpoint_interval_hours / (s.checkpoint_interval_hours + ckpt_cost) for s in strategies]
    loss_hours = [0.5 * (s.checkpoint_interval_hours + ckpt_cost) + restart for s in strategies]
    budget = [np.inf if s.capex_budget_usd is None else s.capex_budget_usd for s in strategies]
    home = names.index(cfg.data.home)
    tb_price = [th.get(f"storage.{cls}_usd_per_tb_month", np.zeros(n)) for cls in storage_classes(cfg)]
    home_egress = _egress(home, egress)
    copies = [[np.zeros(n, bool) for _ in names] for _ in strategies]
    support_base = [np.zeros(n) for _ in strategies]
    cohorts = [[(np.zeros(n), np.zeros(n)) for _ in range(12)] for _ in strategies]  # (capex, day) by month % 12
    month_capex = [np.zeros(n) for _ in strategies]
    month_day = [np.zeros(n) for _ in strategies]
    rents = [any(p.kind in RENTED and p.gpus > 0 for p in ps) for ps in pools]
    # marginal rental quota: the last on-demand pool serving heavy work with GPUs, else workload.clearing_gpus
    marginal = [next((p for p in reversed(ps) if p.kind == "on_demand" and "heavy" in p.serves and p.gpus > 0), None)
                for ps in pools]
    quota = [th["workload.clearing_gpus"] if m is None else np.full(n, m.gpus) for m in marginal]
    f_marginal = [1.0 if m is None else m.f for m in marginal]  # its throughput and price ratio (the H100 market)
    rent_marginal = [1.0 if m is None else m.rent for m in marginal]
    price0 = th["market.hardware_usd_per_gpu"]
    spares = [float(sum(p.spares for p in s.pools.values() if p.kind == "owned")) for s in strategies]
    ordered = [sum(p.gpus for p in ps if p.kind == "owned") + k for ps, k in zip(pools, spares, strict=True)]
    quote0 = price0 * np.where(shortage, m_hw, 1.0)  # an order placed in a shortage costs more, arrives later
    pending = [np.clip(np.minimum(o, np.floor(b / np.maximum(quote0 * a, 1e-30))), 0.0, None)
               for o, b, a in zip(ordered, budget, buy_ratio, strict=True)]
    pending_day = [DAYS_PER_WEEK * th["owned.lead_time_weeks"] * np.where(shortage, m_lead, 1.0) for _ in strategies]
    pending_price = [quote0 * a for a in buy_ratio]
    committed = [pending[i] * pending_price[i] for i in range(n_s)]
    installed = [np.zeros(n) for _ in strategies]
    down = [np.zeros(n) for _ in strategies]
    weight = [np.zeros(n) for _ in strategies]
    busy_month = [np.zeros(n) for _ in strategies]
    up_month = [np.zeros(n) for _ in strategies]
    months_above = [np.zeros(n) for _ in strategies]
    light = [np.zeros(n) for _ in strategies]
    heavy = [np.zeros(n) for _ in strategies]
    remaining = [[run_size[r].copy() for r in range(n_r)] for _ in strategies]
    finish = [[np.zeros(n) for _ in range(n_r)] for _ in strategies]
    switched = [[np.zeros(n, bool) for _ in range(n_r)] for _ in strategies]
    last = [[np.full(n, -1) for _ in range(n_r)] for _ in strategies]
    last_slot = [[np.full(n, -1) for _ in range(n_r)] for _ in strategies]  # -1 not started, -2 could not run
    pv = np.zeros((n_s, n_cat, n))
    cash = np.zeros((n_s, n_cat, n))
    waited = np.zeros((n_s, n))
    failures = np.zeros((n_s, n))
    interruptions = np.zeros((n_s, n))
    demand_total = np.zeros(n)

    for month in range(cfg.engine.horizon_months):
        for k in range(steps_per_month):
            t = (month * steps_per_month + k) * dt
            arrivals = np.exp(log_demand) * dt
            rental = np.where(shortage, m_rent, 1.0)
            od_price = [b * np.exp(th["market.loading_on_demand"] * log_index) * rental for b in od_base]
            spot_price = [(1.0 - d) * b * np.exp(th["market.loading_spot"] * log_index) * rental
                          for b, d in zip(od_base, spot_discount, strict=True)]
            obtained = [rng.random(n) < p for p in p_obtain]  # one draw per run and step, shared by strategies
            discount = (1.0 + rate) ** (-(t + 0.5 * dt) / DAYS_PER_YEAR)
            for s, ps in enumerate(pools):
                # Owned fleet: deliveries, failures and repairs.
                arrived = (pending[s] > 0.0) & (t >= pending_day[s])
                delivered = np.where(arrived, pending[s], 0.0)
                capex = delivered * pending_price[s]
                month_capex[s] = month_capex[s] + capex
                month_day[s] = np.where(capex > 0.0, t, month_day[s])
                young_capex, young_day = cohorts[s][month % 12]  # delivered 12 months ago
                supported = support_base[s] + np.where(t + 0.5 * dt >= young_day + DAYS_PER_YEAR, young_capex, 0.0)
                installed[s] = installed[s] + delivered
                weight[s] = weight[s] + delivered * rho ** (-t / DAYS_PER_YEAR)
                pending[s] = np.where(arrived, 0.0, pending[s])
                up_start = installed[s] - down[s]
                if ordered[s] > 0 or strategies[s].expansion.gpus > 0:
                    failed = np.minimum(up_start, rng.poisson(th["owned.failure_per_gpu_hour"] * hours * up_start))
                    repaired = np.minimum(down[s], rng.poisson(down[s] * dt / th["owned.repair_days"]))
                    down[s] = down[s] + failed - repaired
                else:
                    failed = np.zeros(n)
                up = up_start - failed
                failed_share = failed / np.maximum(up_start, 1.0)
                failures[s] += failed
                # What each pool offers.
                free, price = [], []
                for p in ps:
                    if p.kind == "owned":  # spares held back: failures eat into them first
                        free.append(np.minimum(up, np.maximum(installed[s] - spares[s], 0.0)))
                        price.append(busy_power * kw_ratio[s])
                    elif p.kind == "on_demand":
                        free.append(np.full(n, p.gpus))
                        price.append(od_price[p.provider] * p.rent)
                    else:
                        free.append(np.where(spot_available, p.gpus, 0.0))
                        price.append(spot_price[p.provider] * p.rent)
                wall = [np.zeros(n) for _ in ps]
                eff, loss = efficiency[s], loss_hours[s]
                migration = np.zeros(n)
                gpus_per_instance = th["spot.gpus_per_instance"]
                # Training runs: all GPUs on the first pool with room; once the full-speed slack is in [0, dt), the
                # first pool that is not spot (interruptible) with room, if there is one.
                for r, run in enumerate(runs):
                    width = float(run.gpus)
                    begin = max(t, run.start_day)
                    share = min(max((t + dt - begin) / dt, 0.0), 1.0)
                    rem = remaining[s][r]
                    active = (share > 0.0) & (rem > 0.0)
                    prev = last_slot[s][r]
                    # full speed at the throughput of the pool it last ran on (none: the fastest that hosts runs)
                    f_best = max((p.f for p in ps if "runs" in p.serves), default=1.0)
                    f_run = np.full(n, f_best)
                    for j, p in enumerate(ps):
                        f_run = np.where(prev == j, p.f, f_run)
                    slack = run.deadline_day - t - rem / (HOURS_PER_DAY * width * eff * f_run)
                    now_switched = switched[s][r] | (strategies[s].deadline_aware & active & (slack >= 0.0)
                                                     & (slack < dt))
                    wall_hours = width * hours * share
                    plain, safe = np.full(n, -1), np.full(n, -1)
                    prev = last_slot[s][r]
                    for j, p in reversed(list(enumerate(ps))):
                        room = ("runs" in p.serves) & (free[j] >= width)
                        if p.kind == "spot":  # acquiring k instances at once may fail; a run holding them keeps them
                            room = room & (obtained[r] | (prev == j))
                        plain = np.where(room, j, plain)
                        safe = np.where(room & (p.kind != "spot"), j, safe)
                    pick = np.where(now_switched & (safe >= 0), safe, plain)
                    for j, p in enumerate(ps):  # spot capacity gone under a run: one spot interruption
                        if p.kind == "spot":
                            interruptions[s] += active & (prev == j) & (free[j] < width)
                    ran = active & (pick >= 0)
                    last_slot[s][r] = np.where(ran, pick, np.where(active & (prev != -1), -2, prev))
                    for j, p in enumerate(ps):
                        fits = active & (pick == j)
                        if not fits.any():
                            continue
                        moved = fits & (prev != -1) & (prev != j)  # loses its work since the checkpoint + restart
                        if p.kind == "owned":
                            events = failed_share * width * share + np.where(
                                fits, rng.poisson(job_owned * wall_hours), 0.0)
                        elif p.kind == "spot":
                            events = np.where(fits, rng.poisson((reclaim / gpus_per_instance + job) * wall_hours), 0.0)
                        else:
                            events = np.where(fits, rng.poisson(job * wall_hours), 0.0)
                        restarts = events + moved
                        useful = np.where(fits, np.maximum(0.0, wall_hours - restarts * width * loss) * eff * p.f,
                                          0.0)
                        done = np.minimum(rem, useful)
                        finished_now = fits & (done >= rem)
                        fraction = np.where(finished_now, done / np.maximum(useful, 1e-30), np.where(fits, 1.0, 0.0))
                        finish[s][r] = np.where(finished_now, begin + fraction * share * dt, finish[s][r])
                        rem = rem - done
                        free[j] = free[j] - width * share * fraction
                        wall[j] = wall[j] + wall_hours * fraction
                        if p.kind == "spot":
                            interruptions[s] += np.where(fits, events, 0.0)
                        moved = fits & (last[s][r] >= 0) & (last[s][r] != p.provider)
                        migration += np.where(moved, th["workload.migration_usd"]
                                              + th["workload.checkpoint_tb"] * _egress(last[s][r], egress), 0.0)
                        last[s][r] = np.where(fits, p.provider, last[s][r])
                    remaining[s][r] = rem
                    switched[s][r] = now_switched
                # Steady demand: light, then heavy, through the pools in order. Each pool is sized for the work
                # offered and its expected loss; only what it has no room for is offered to the next pool.
                for work in ("light", "heavy"):
                    backlog = (light if work == "light" else heavy)[s]
                    backlog = backlog + arrivals * (light_share if work == "light" else 1.0 - light_share)
                    offered = backlog
                    for j, p in enumerate(ps):
                        if work not in p.serves:
                            continue
                        # job interrupts (and owned failures) of steady work at their expected count
                        fluid = failed_share / hours + job_owned if p.kind == "owned" else job
                        loss_fraction = fluid * loss
                        if p.kind == "spot":
                            loss_fraction = loss_fraction + reclaim * loss
                        kept = 1.0 - np.minimum(loss_fraction, 0.5)  # the engine's MAX_LOSS_FRACTION
                        need = offered / (eff * p.f * kept)
                        completes = (1.0 - np.minimum(loss_fraction, 1.0)) / kept
                        wall_hours = np.where(loss_fraction < 1.0, np.minimum(free[j] * hours, need), 0.0)
                        lost = fluid * wall_hours * loss
                        if p.kind == "spot":
                            events = rng.poisson(reclaim * wall_hours / gpus_per_instance)
                            interruptions[s] += events + fluid * wall_hours
                            lost = lost + events * gpus_per_instance * loss
                        served = np.minimum(offered, np.maximum(0.0, wall_hours - lost) * eff * p.f)
                        used = np.minimum(wall_hours, served / (eff * p.f) + lost)
                        backlog = backlog - served
                        offered = np.minimum(offered * (1.0 - wall_hours / np.maximum(need, 1e-30) * completes),
                                             offered - served)
                        free[j] = free[j] - used / hours
                        wall[j] = wall[j] + used
                    (light if work == "light" else heavy)[s] = backlog
                # Costs of the step by category.
                cost = np.zeros((n_cat, n))
                for j, p in enumerate(ps):
                    spend = wall[j] * price[j]
                    if p.kind == "owned":
                        cost[CATEGORY["power"]] += spend
                        busy_month[s] = busy_month[s] + wall[j]
                    else:
                        cost[CATEGORY[p.kind]] += spend
                        if p.kind in RENTED:
                            cost[CATEGORY["cloud_ops"]] += th["operations.cloud_support_share"] * spend
                kw = th["owned.kw_per_gpu"] * kw_ratio[s]
                cost[CATEGORY["capex"]] = capex
                cost[CATEGORY["fabric"]] = th["owned.fabric_usd_per_gpu"] * delivered
                cost[CATEGORY["buildout"]] = th["onprem.buildout_usd_per_kw"] * kw * delivered
                cost[CATEGORY["support"]] = th["owned.support_share_per_year"] * supported * dt / DAYS_PER_YEAR
                cost[CATEGORY["power"]] += th["owned.idle_power_fraction"] * up * hours * energy * kw_ratio[s]
                owned_here = installed[s] > 0.0
                cost[CATEGORY["facility"]] = np.where(
                    owned_here, (np.maximum(installed[s] * kw, th["onprem.min_commit_kw"])
                                 * th["onprem.facility_usd_per_kw_month"] + th["onprem.fixed_usd_per_month"])
                    * dt / DAYS_PER_MONTH, 0.0)
                salary = th["operations.staff_usd_per_fte_year"]
                fte = np.maximum(th["onprem.min_fte"], th["onprem.fte_per_100_gpus"] * installed[s] / 100.0)
                cost[CATEGORY["staff"]] = np.where(owned_here, fte * salary * dt / DAYS_PER_YEAR, 0.0)
                if rents[s]:
                    cost[CATEGORY["cloud_ops"]] += th["operations.cloud_min_fte"] * salary * dt / DAYS_PER_YEAR
                cost[CATEGORY["migration"]] = migration
                # The dataset: stored at home, copied to every other provider run on; egress per copy and growth.
                d_now = th["storage.dataset_tb"] * th["storage.growth_multiplier_per_year"] ** (t / DAYS_PER_YEAR)
                d_next = th["storage.dataset_tb"] * th["storage.growth_multiplier_per_year"] ** ((t + dt) / DAYS_PER_YEAR)
                per_tb_month, n_new, n_copies = tb_price[home].copy(), np.zeros(n), np.zeros(n)
                for q in range(len(names)):
                    ran = np.zeros(n, bool)
                    for j, p in enumerate(ps):
                        if p.provider == q:
                            ran |= wall[j] > 0.0
                    held = (copies[s][q] | ran) & (q != home)
                    n_new += held & ~copies[s][q]
                    n_copies += held
                    per_tb_month = per_tb_month + np.where(held, tb_price[q], 0.0)
                    copies[s][q] = held
                cost[CATEGORY["storage"]] = d_now * per_tb_month * dt / DAYS_PER_MONTH
                cost[CATEGORY["data"]] = home_egress * (d_now * n_new + (d_next - d_now) * n_copies)
                waited_step = (light[s] + heavy[s]) * dt
                cost[CATEGORY["delay"]] = th["workload.delay_usd_per_gpu_hour_day"] * waited_step
                pv[s] += cost * discount
                cash[s] += cost
                up_month[s] = up_month[s] + np.minimum(up, np.maximum(installed[s] - spares[s], 0.0)) * hours
                waited[s] += waited_step
            demand_total += arrivals
            # Shared drivers move.
            log_demand = log_demand + demand_drift + demand_vol * rng.standard_normal(n)
            log_index = log_index + index_drift + index_vol * rng.standard_normal(n)
            f_now = np.where(shortage, f_short, th["spot.unavailable_fraction"])  # spot chain of this regime
            p_regain = np.where(f_now >= 1.0, 0.0, -np.expm1(-dt / th["spot.unavailable_spell_days"]))
            p_lose = np.where(f_now >= 1.0, 1.0, np.minimum(1.0, p_regain * f_now / np.maximum(1.0 - f_now, 1e-12)))
            u = rng.random(n)
            spot_available = np.where(spot_available, u >= p_lose, u < p_regain)
            shortage_months += np.where(shortage, dt / DAYS_PER_MONTH, 0.0)
            u = rng.random(n)
            shortage = np.where(shortage, u >= p_exit, u < p_enter)
        # Month end: expansion orders on sustained utilisation, capped by the capex budget.
        now = (month + 1) * steps_per_month * dt
        for s, strategy in enumerate(strategies):
            price = price0 * buy_ratio[s] * np.exp(th["market.loading_hardware"] * log_index) \
                * np.where(shortage, m_hw, 1.0)
            exp = strategy.expansion
            utilisation = np.clip(busy_month[s] / np.maximum(up_month[s], 1e-9), 0.0, 1.0)  # cannot exceed 1
            above = np.where(utilisation > exp.utilisation_threshold, months_above[s] + 1.0, 0.0)
            order = (above >= exp.months_above) & (pending[s] <= 0.0) & (exp.gpus > 0)
            months_above[s] = np.where(order, 0.0, above)
            if exp.gpus > 0:
                can = np.floor((budget[s] - committed[s]) / np.maximum(price, 1e-30))
                gpus = np.where(order, np.clip(np.minimum(exp.gpus, can), 0.0, None), 0.0)
                placed = gpus > 0.0
                lead_days = DAYS_PER_WEEK * _sample_prior(lead_prior, rng, n) * np.where(shortage, m_lead, 1.0)
                pending[s] = np.where(placed, gpus, pending[s])
                pending_day[s] = np.where(placed, now + lead_days, pending_day[s])
                pending_price[s] = np.where(placed, price, pending_price[s])
                committed[s] = committed[s] + gpus * price
            busy_month[s] = np.zeros(n)
            up_month[s] = np.zeros(n)
            # Support cohorts: month - 12's delivery joins the base; this month's takes its slot.
            young_capex, _ = cohorts[s][month % 12]
            support_base[s] = support_base[s] + young_capex
            cohorts[s][month % 12] = (month_capex[s], month_day[s])
            month_capex[s] = np.zeros(n)

    # End of the horizon: resale credit net of fees, run finish and lateness, the shortfall, delay.
    price_now = price0 * np.exp(th["market.loading_hardware"] * log_index)
    # the marginal rental price c_T: the last on-demand pool serving heavy work, at its provider, else the market's
    # (the hyperscaler's)
    od_now = [od_base[names.index("hyperscaler") if m is None else m.provider]
              * np.exp(th["market.loading_on_demand"] * log_index) * np.where(shortage, m_rent, 1.0)
              for m in marginal]
    discount_end = (1.0 + rate) ** (-horizon / DAYS_PER_YEAR)
    finish_day = np.zeros((n_s, n_r, n))
    deadlines = np.asarray([run.deadline_day for run in runs]).reshape(1, -1, 1)
    v = th["workload.delay_usd_per_gpu_hour_day"]
    delivered = np.zeros((n_s, n))
    for s in range(n_s):
        residual = -(1.0 - th["owned.resale_fee_share"]) * price_now * buy_ratio[s] \
            * rho ** (horizon / DAYS_PER_YEAR) * weight[s]
        backlog = light[s] + heavy[s]
        wait = backlog * np.minimum(backlog / (2.0 * HOURS_PER_DAY * quota[s] * f_marginal[s]), 1e4)  # engine's cap
        waited[s] += wait
        left = backlog.copy()
        late_cash, late_pv = np.zeros(n), np.zeros(n)
        delivered[s] = np.maximum(demand_total - backlog, 0.0)
        for r, run in enumerate(runs):
            done = remaining[s][r] <= 0.0
            full_rate = run.gpus * HOURS_PER_DAY * efficiency[s] * f_marginal[s]
            finish_day[s, r] = np.where(done, finish[s][r], horizon + remaining[s][r] / full_rate)
            late = _late_usd(np.maximum(0.0, finish_day[s, r] - run.deadline_day),
                             th[f"runs.{list(cfg.runs)[r]}.late_usd_per_day"], run)
            late_cash += late
            late_pv += late * (1.0 + rate) ** (-finish_day[s, r] / DAYS_PER_YEAR)
            left += np.maximum(remaining[s][r], 0.0)
            delivered[s] += run_size[r] - np.maximum(remaining[s][r], 0.0)
        unserved = left * od_now[s] * rent_marginal[s] / (efficiency[s] * f_marginal[s])
        for name, usd, at_pv in (("residual", residual, residual * discount_end),
                                 ("delay", v * wait, v * wait * discount_end),
                                 ("unserved", unserved, unserved * discount_end), ("late_runs", late_cash, late_pv)):
            pv[s, CATEGORY[name]] += at_pv
            cash[s, CATEGORY[name]] += usd
    shortfall_columns = [CATEGORY[c] for c in SHORTFALL_CATEGORIES]
    shortfall = pv[:, shortfall_columns].sum(axis=1)
    out = dict(
        cost=pv.sum(axis=1), spend=pv.sum(axis=1) - shortfall, shortfall=shortfall, cost_by_category=pv,
        cash_by_category=cash, delay=waited / np.maximum(demand_total, np.finfo(float).tiny),
        run_finish_day=finish_day, run_lateness_days=np.maximum(0.0, finish_day - deadlines),
        owned_failures=failures, spot_interruptions=interruptions, delivered_gpu_hours=delivered,
    )
    return {**{k: np.moveaxis(v, -1, 0) for k, v in out.items()}, "shortage_months": shortage_months}
