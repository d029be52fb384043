"""The application layer: the command line, run directories, files and exit codes (the only layer that knows Hydra's runtime)."""
