"""`python -m archcost` and the `archcost` console script (`run`).

Kept tiny so that Ctrl-C while archcost's modules are still being imported (the first ~50 ms) also ends
with exit 130 and one line, not a traceback: the imports happen inside :func:`run`'s guard.
"""

from __future__ import annotations

import sys
from typing import NoReturn


def run() -> NoReturn:
    """Import the command line and run it; Ctrl-C during the import exits 130 like Ctrl-C during the work."""
    try:
        from archcost.cli import main

        code = main()
    except KeyboardInterrupt:  # main handles its own; this is the import, or the instant around main's guard
        print("error: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    run()
