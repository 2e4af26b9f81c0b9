"""`python -m pipeline ...`: the command-line entry point."""

from pipeline.cli import entry

if __name__ == "__main__":
    entry()
