"""Reports: money formatting, markdown summary, terminal table, seaborn plots."""
