"""Every error the pipeline raises on purpose, and the exit code each one ends a command with.

One place for both: the CLI maps any exception to an `ExitCode` and a one-line message through
`exit_code_of` / `one_line`, so no module repeats the numbers (OCRmyPDF's `exceptions.py` is the model).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "ConfigError",
    "ExitCode",
    "ImageReadError",
    "Interrupted",
    "PipelineError",
    "ResumeError",
    "RunFailed",
    "exit_code_of",
    "one_line",
]


class ExitCode(IntEnum):
    OK = 0
    IMAGES_FAILED = 1  # the run finished, but some images are error records
    USAGE = 2  # bad usage or config: nothing was run
    RUN_FAILED = 3  # the run could not finish (workers kept dying, or an internal error)
    INTERRUPTED = 130  # Ctrl-C / SIGTERM; finished records are kept


class PipelineError(Exception):
    """Base of the errors we raise on purpose; `exit_code` is what the command ends with."""

    exit_code: ExitCode = ExitCode.RUN_FAILED


class ConfigError(PipelineError, ValueError):
    """A bad config file or flag; the message names the offending key."""

    exit_code = ExitCode.USAGE


class ResumeError(PipelineError, ValueError):
    """The existing output is damaged in a way a killed run cannot cause, or is not ours."""

    exit_code = ExitCode.USAGE


class RunFailed(PipelineError, RuntimeError):
    """The run cannot go on: workers cannot start, or a dead worker cannot be replaced."""

    exit_code = ExitCode.RUN_FAILED


class Interrupted(PipelineError):
    """The run was stopped by Ctrl-C or SIGTERM; records finished so far are written."""

    exit_code = ExitCode.INTERRUPTED


class ImageReadError(PipelineError):
    """An input that cannot be OCR'd; str(err) is a one-line, human-readable reason."""

    def __init__(self, reason: str) -> None:
        # Reasons often embed messages from C libraries; keep them to a single clean line.
        super().__init__(one_line(reason) or "unreadable image")


def one_line(reason: BaseException | str, limit: int = 500) -> str:
    """A one-line reason for an error record or a message. Text is squeezed onto one line; an
    exception of ours keeps its message as it is, any other is prefixed with its class name (its
    text alone is often meaningless, e.g. a KeyError)."""
    if isinstance(reason, str):
        return " ".join(reason.split())[:limit]
    text = " ".join(str(reason).split())
    if not isinstance(reason, PipelineError):
        text = f"{reason.__class__.__name__}: {text}" if text else reason.__class__.__name__
    return (text or reason.__class__.__name__)[:limit]


def exit_code_of(exc: BaseException) -> ExitCode:
    if isinstance(exc, PipelineError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    return ExitCode.RUN_FAILED
