"""Statistics in NumPy: estimators with standard errors, paired comparisons, mergeable accumulators. No config, no xarray."""
