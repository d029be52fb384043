"""Results: the table of output variables, the labelled xarray Dataset, atomic writes."""
