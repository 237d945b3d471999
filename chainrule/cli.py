"""Command-line entry point (placeholder until the CLI lands)."""
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    print("chainrule: the command line is not built yet", file=sys.stderr)
    return 2
