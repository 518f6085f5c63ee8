"""The measuring parts of ``python -m almlit.bench``: settings, instruments, pipelines, training timings, report."""
