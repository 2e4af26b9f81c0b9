"""The command line's one error handler: every exception becomes an exit code and one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import pipeline.run.runner
from pipeline.cli import main
from pipeline.config import default_config_text
from pipeline.errors import ConfigError, ExitCode, ImageReadError, Interrupted, ResumeError, RunFailed
from pipeline.output.formats import FORMATS


def _failing_run(exc: BaseException):  # type: ignore[no-untyped-def]
    def run(*args: object, **kwargs: object) -> None:
        raise exc

    return run


@pytest.mark.parametrize(
    ("exc", "code", "prefix"),
    [
        (ConfigError("config key 'x' is bad"), ExitCode.USAGE, "error: "),
        (ResumeError("results.jsonl: line 3 is damaged"), ExitCode.USAGE, "error: "),
        (RunFailed("the process workers failed to start"), ExitCode.RUN_FAILED, "error: "),
        (ImageReadError("not an image"), ExitCode.RUN_FAILED, "error: "),
        (Interrupted("2 images done."), ExitCode.INTERRUPTED, "interrupted: "),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED, "interrupted"),
        (RuntimeError("two\nlines"), ExitCode.RUN_FAILED, "internal error: RuntimeError: two lines (run again"),
        (KeyError("x"), ExitCode.RUN_FAILED, "internal error: KeyError: 'x'"),
        (ZeroDivisionError(), ExitCode.RUN_FAILED, "internal error: ZeroDivisionError"),
    ],
)
def test_every_exception_is_an_exit_code_and_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str], exc: BaseException,
                                                      code: ExitCode, prefix: str) -> None:
    monkeypatch.setattr(pipeline.run.runner, "run", _failing_run(exc))
    assert main(["run", str(tmp_path), "-o", str(tmp_path / "o.jsonl")]) == code
    err = capsys.readouterr().err
    assert err.startswith(prefix) and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_debug_shows_the_traceback_of_an_internal_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(pipeline.run.runner, "run", _failing_run(ValueError("boom")))
    for argv in (["--debug", "run", str(tmp_path)], ["run", "--debug", str(tmp_path)]):
        assert main(argv) == ExitCode.RUN_FAILED
        err = capsys.readouterr().err
        assert "Traceback" in err and "raise exc" in err
        assert err.rstrip().splitlines()[-1] == "internal error: ValueError: boom"


def test_format_choices_come_from_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "x", "--format", "xml"])
    assert exit_info.value.code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert all(f"'{name}'" in err for name in FORMATS)


def test_config_prints_the_packaged_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert out == default_config_text() and "format: jsonl" in out
    assert isinstance(yaml.safe_load(out), dict)


def test_a_reader_that_goes_away_is_no_error() -> None:
    """`ocr-pipeline config | head -1`: once the reader has closed the pipe, the rest of the output
    goes nowhere, and the command still exits 0 without a word on stderr."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-m", "pipeline", "config"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # before the child has printed anything
    err = child.stderr.read().decode("utf-8", "replace")
    assert child.wait(timeout=60) == ExitCode.OK, err
    assert err == ""
