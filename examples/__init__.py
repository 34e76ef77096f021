"""Example applications built on globus_runs (not part of the installed package)."""
