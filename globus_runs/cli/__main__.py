"""``python -m globus_runs.cli``: the same as the ``globus-runs`` command."""

from . import main

if __name__ == "__main__":
    main()
