"""The `corral` command line: one module per command group (argparse, no Textual at import)."""
