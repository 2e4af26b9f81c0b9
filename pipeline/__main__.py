"""`python -m pipeline ...` and `ocr-pipeline`: the command-line entry point.

Before it imports the command line (`pipeline.cli`: argparse, the config, the output formats and
more, 0.15-0.2 s), it starts the process backend's forkserver where the arguments show that a run
will use one: the server's own imports (`pipeline.run.preload`, 0.4-0.6 s) then run beside the
parent's instead of after them, and workers start that much sooner. Where the arguments leave any
doubt (an abbreviated option, `--help`, a config file it cannot read), it starts nothing, and the
command starts the server once it has read its config, as before.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["early_start_method", "entry"]

_COMMANDS = ("run", "watch")  # the commands that start a process pool
_BACKEND, _CONFIG = "--backend", "--config"
_MAX_CONFIG_BYTES = 1 << 20


def _options(args: Sequence[str]) -> dict[str, str] | None:
    """The `--backend` and `--config` values among a command's arguments (absent: not given), or
    None where reading them by hand could differ from argparse."""
    found: dict[str, str] = {}
    tokens = iter(args)
    for token in tokens:
        name, equals, value = token.partition("=")
        if token == "--" or token in ("-h", "--help"):
            return None
        if token == "-c":
            found[_CONFIG] = next(tokens, "")
        elif name in (_BACKEND, _CONFIG):
            found[name] = value if equals else next(tokens, "")
        elif token.startswith("-c") or any(
                len(name) > 2 and full.startswith(name) for full in (_BACKEND, _CONFIG)):
            return None  # `-cFILE` or `-c=FILE`, or an abbreviation argparse would accept
        elif token.startswith("-") and not token.startswith("--") and "c" in token:
            return None  # short flags run together, such as `-qc FILE`
    return found


def _configured_method(path: str) -> str | None:
    """The `start_method` a config file sets ("auto" where it sets none), or None where it cannot be
    read: the command reports that itself."""
    try:
        info = os.stat(path)
        # Read once more by the command: a FIFO or a device would give it what is left.
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_CONFIG_BYTES:
            return None
        import yaml

        data = yaml.load(Path(path).read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (a safe loader)
    except Exception:  # noqa: BLE001 (any failure: left to the command, which reports it)
        return None
    if data is None:
        return "auto"
    if not isinstance(data, dict):
        return None
    method = data.get("start_method", "auto")
    return method if isinstance(method, str) else None


def early_start_method(argv: Sequence[str]) -> str | None:
    """The start method of a `run` or `watch` on the process backend that `argv` (without the
    program name) asks for, or None: not such a command, or not plain enough to tell."""
    args = list(argv)
    while args[:1] == ["--debug"]:
        args.pop(0)
    if not args or args[0] not in _COMMANDS:
        return None
    options = _options(args[1:])
    if options is None or options.get(_BACKEND, "process") != "process":
        return None
    return _configured_method(options[_CONFIG]) if _CONFIG in options else "auto"


def entry() -> None:
    method = early_start_method(sys.argv[1:])
    if method is not None:
        from pipeline.errors import ConfigError
        from pipeline.run.start_method import start_early

        try:
            start_early(method)  # nothing for a method that spawns
        except ConfigError:  # a forkserver where there is none: the command reports it
            pass
    from pipeline.cli import entry as run_command

    run_command()


if __name__ == "__main__":
    entry()
