"""`python -m corral.tui.cli`: the `corral` command."""

import sys

from corral.tui.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
