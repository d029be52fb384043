"""Configuration: typed schema, priors schema, loading and validation. Nothing below this package sees a DictConfig."""
