"""The provider catalogue: who rents GPUs, and which provider each pool uses.

A provider of rented GPUs is data (``providers.NAME`` in ``conf/providers/default.yaml``, a scenario may add its
own): its type, the rented kinds it sells and its priors (on-demand price, spot discount, egress). A pool of a
rented kind (:data:`~simulator.config.schema.RENTED_KINDS`) names its provider, or gets its kind's default; owned,
academic and notebook pools have a built-in provider each (:data:`~simulator.config.schema.BUILTIN_PROVIDERS`).

The *provider universe* of a config is the built-in providers followed by the catalogue in its mapping order; a
provider's id is its position there (the engine keys dataset copies and egress by it).
"""

from __future__ import annotations

from simulator.config.errors import ConfigError
from simulator.config.schema import BUILTIN_PROVIDERS, RENTED_KINDS, Config, PoolConfig, pool_gpu

# a kind whose pools may appear more than once in a strategy (one per provider, say); owned fleets, the academic
# centre and notebook seats are one per strategy
REPEATABLE_KINDS = tuple(RENTED_KINDS)


def builtin_names() -> tuple[str, ...]:
    """The built-in providers, in id order (onprem 0, academic 1, notebook 2)."""
    return tuple(dict.fromkeys(BUILTIN_PROVIDERS.values()))


def provider_names(cfg: Config) -> tuple[str, ...]:
    """The provider universe: built-in providers, then the catalogue's, in order (a provider's id is its index)."""
    return builtin_names() + tuple(cfg.providers)


def storage_classes(cfg: Config) -> tuple[str, ...]:
    """Per provider id, the storage price class its dataset copies pay (``storage.{class}_usd_per_tb_month``): a
    built-in provider's own name, a catalogue provider's ``type``."""
    return builtin_names() + tuple(p.type for p in cfg.providers.values())


def pool_provider(pool: PoolConfig) -> str:
    """The provider of a pool: its built-in provider, the one it names, or its rented kind's default."""
    if pool.kind in BUILTIN_PROVIDERS:
        return BUILTIN_PROVIDERS[pool.kind]
    return pool.provider if pool.provider is not None else RENTED_KINDS[pool.kind]


def check_providers(cfg: Config) -> None:
    """Every pool's provider exists, sells its kind and rents its GPU type; a repeated kind is rentable; the
    providers' GPU types are in the table; ``data.home`` is a provider.

    Raises :class:`ConfigError` with one line on the first problem.
    """
    names = provider_names(cfg)
    clash = sorted(set(builtin_names()) & set(cfg.providers))
    if clash:
        raise ConfigError(f"providers.{clash[0]}: the name is reserved for a built-in provider "
                          f"({', '.join(builtin_names())})")
    for provider_name, provider in cfg.providers.items():
        unknown = [g for g in provider.gpus if g not in cfg.gpus]
        if unknown:
            raise ConfigError(f"providers.{provider_name}.gpus contains {unknown[0]!r}: allowed items are the GPU "
                              f"types of the gpus table ({', '.join(cfg.gpus)})")
    for name, strategy in cfg.strategies.items():
        kinds = [pool.kind for pool in strategy.pools.values()]
        for kind in dict.fromkeys(kinds):
            if kinds.count(kind) > 1 and kind not in REPEATABLE_KINDS:
                raise ConfigError(f"strategies.{name}.pools: kind {kind!r} appears {kinds.count(kind)} times; only "
                                  f"rented kinds ({', '.join(REPEATABLE_KINDS)}) may appear more than once")
        for pool_name, pool in strategy.pools.items():
            key = f"strategies.{name}.pools.{pool_name}.provider"
            if pool.kind in BUILTIN_PROVIDERS:
                if pool.provider is not None:
                    raise ConfigError(f"{key} = {pool.provider!r}: a {pool.kind} pool has no provider to choose "
                                      "(leave it null)")
                continue
            provider = pool_provider(pool)
            if provider not in cfg.providers:
                raise ConfigError(f"{key} = {provider!r}: not in the provider catalogue; known providers: "
                                  f"{', '.join(cfg.providers) or 'none'}")
            if pool.kind not in cfg.providers[provider].sells:
                sellers = [q for q, p in cfg.providers.items() if pool.kind in p.sells]
                raise ConfigError(f"{key} = {provider!r}: does not sell {pool.kind}; providers that do: "
                                  f"{', '.join(sellers) or 'none'}")
            offered, gpu = cfg.providers[provider].gpus, pool_gpu(pool)
            if offered and gpu in cfg.gpus and gpu not in offered:  # an unknown type is the gpus check's error
                raise ConfigError(f"strategies.{name}.pools.{pool_name}.gpu = {gpu!r}: provider {provider!r} rents "
                                  f"{', '.join(offered)}")
    if cfg.data.home not in names:
        raise ConfigError(f"data.home = {cfg.data.home!r}: must be one of {', '.join(names)}")
