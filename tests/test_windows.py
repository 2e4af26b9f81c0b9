"""Windows behaviour, tested here where the logic allows: the same functions a Windows run uses, fed
what Windows gives them (an OSError's `winerror`, `ntpath` and `PureWindowsPath`, a stat result with
a reparse tag, a UTF-16 config, a cp1252 stdout). Tests that need Windows itself (junctions, files
held open) skip elsewhere. `pytest -k windows` selects all of them (README, "Windows")."""

from __future__ import annotations

import codecs
import errno
import io
import json
import logging
import ntpath
import os
import stat
import sys
from pathlib import Path, PureWindowsPath
from types import SimpleNamespace

import cv2
import pytest

from fake_engine import draw_page
from pipeline import cli
from pipeline.config.loading import load_config
from pipeline.core.types import ImageRef, Recognized, Record
from pipeline.errors import ConfigError, RunFailed
from pipeline.inputs import discover
from pipeline.inputs.discover import canonical_case, is_link_stat, key_base, normalised
from pipeline.ocr import models
from pipeline.ocr.records import ok_record
from pipeline.output import base
from pipeline.output.base import atomic_write, is_name_error
from pipeline.output.jsonl import JsonlSink
from pipeline.output.txt import TxtSink
from pipeline.run.backends import process
from pipeline.run.runner import run
from pipeline.run.settings import run_config

WINDOWS_ONLY = pytest.mark.skipif(sys.platform != "win32", reason="needs Windows (junctions, files held open)")

# What CPython on Windows raises (winerror set, errno mapped from it): a path past MAX_PATH, a file
# held open by another program, os.replace onto a folder.
def _winerror(cls: type[OSError], code: int, number: int, text: str, filename: object = None) -> OSError:
    exc = cls(number, text, None if filename is None else str(filename))
    exc.winerror = code  # type: ignore[attr-defined]  # only Windows' OSError has it; tests set it
    return exc


def _too_long(filename: object = None) -> OSError:
    return _winerror(FileNotFoundError, 206, errno.ENOENT, "The filename or extension is too long", filename)


def _in_use(filename: object = None) -> OSError:
    return _winerror(PermissionError, 32, errno.EACCES,
                     "The process cannot access the file because it is being used by another process", filename)


def _denied(filename: object = None) -> OSError:
    return _winerror(PermissionError, 5, errno.EACCES, "Access is denied", filename)


def _ok(rel: str, page: int = 0) -> Record:
    return ok_record(ImageRef(0, f"/in/{rel}", rel, page), [[[0, 0], [9, 0], [9, 9], [0, 9]]],
                     [Recognized("text", 0.9)], 0.0)


def _rows(root: Path) -> list[list[str]]:
    return [line.split("\t") for line in (root / "errors.tsv").read_text(encoding="utf-8").splitlines()[1:]]


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture()
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "_BUSY_WAITS", (0.001, 0.001))


# --- output names: long paths, a folder in the way ---------------------------------------------------


def test_windows_errors_of_one_name_are_told_by_winerror() -> None:
    assert is_name_error(_too_long())
    assert is_name_error(_winerror(FileNotFoundError, 3, errno.ENOENT, "The system cannot find the path specified"))
    assert is_name_error(_winerror(OSError, 123, errno.EINVAL, "The filename, directory name, or volume label "
                                                               "syntax is incorrect"))
    # The same errno without a winerror is no name's fault: a missing or read-only output folder.
    assert not is_name_error(FileNotFoundError(errno.ENOENT, "No such file or directory"))
    assert not is_name_error(PermissionError(errno.EACCES, "Permission denied"))
    assert not is_name_error(_in_use())  # retried first, then FileBusy (below)


def test_windows_page_past_max_path_is_an_error_row_and_the_run_goes_on(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "out"
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        if Path(dst).name.startswith("long"):
            raise _too_long(dst)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    sink = TxtSink(root)
    sink.write(_ok("long.png"))
    sink.write(_ok("short.png"))
    sink.close()
    assert _files(root) == {"errors.tsv", "short.png.txt"}  # no temporary file left either
    [row] = _rows(root)
    assert row[:2] == ["long.png", "0"] and "too long" in row[2]
    assert sink.failed_writes == 1


def test_windows_replace_onto_a_folder_is_a_name_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "out"
    (root / "a.png.txt").mkdir(parents=True)
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        if os.path.isdir(dst):
            raise _denied(dst)  # what MoveFileEx says, where POSIX says EISDIR
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    sink = TxtSink(root)
    sink.write(_ok("a.png"))
    sink.write(_ok("b.png"))
    sink.close()
    assert _files(root) == {"errors.tsv", "b.png.txt"}
    [row] = _rows(root)
    assert row[0] == "a.png" and "folder is in the way" in row[2]


def test_windows_pdf_file_past_max_path_is_an_error_row(tmp_path: Path, fake_engine: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("long.png", "short.png"):
        cv2.imwrite(str(folder / name), draw_page([50]))
    out = tmp_path / "pdf"
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        if Path(dst).name == "long.png.pdf":
            raise _too_long(dst)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    summary = run([folder], run_config(None, {"workers": 1, "output": str(out), "format": "pdf"}), quiet=True)
    assert (summary.ok, summary.failed) == (1, 1)
    assert {f for f in _files(out) if not f.startswith(".")} == {"errors.tsv", "short.png.pdf"}
    [row] = _rows(out)
    assert row[0] == "long.png" and "cannot write this file's .pdf" in row[2]


# --- result files held open (Excel, a PDF viewer, an antivirus scan) ----------------------------------


def test_windows_file_held_open_briefly_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   quick_retries: None) -> None:
    real_replace = os.replace
    refusals = iter([_in_use(), _denied()])

    def replace(src: str | Path, dst: str | Path) -> None:
        refusal = next(refusals, None)
        if refusal is not None:
            raise refusal
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    atomic_write(tmp_path / "a.txt", [b"new"])
    assert (tmp_path / "a.txt").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_windows_file_held_open_stays_an_error_row_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             quick_retries: None) -> None:
    root = tmp_path / "out"
    held = root / "a.png.txt"

    def replace(src: str | Path, dst: str | Path) -> None:
        raise _in_use(dst)

    sink = TxtSink(root)
    monkeypatch.setattr(os, "replace", replace)
    sink.write(_ok("a.png"))
    sink.close()
    [row] = _rows(root)
    assert row[0] == "a.png" and str(held) in row[2] and "open in another program" in row[2]
    assert _files(root) == {"errors.tsv"}  # the temporary file is gone


def test_windows_results_file_held_open_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         quick_retries: None) -> None:
    path = tmp_path / "results.jsonl"
    real_open = os.open

    def held_open(file: str | Path, flags: int, mode: int = 0o777, **kwargs: object) -> int:
        if Path(file) == path:
            raise _in_use(file)
        return real_open(file, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", held_open)
    with pytest.raises(RunFailed, match="results.jsonl is open in another program"):
        JsonlSink(path)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes; a read-only file on Windows is the test below")
def test_windows_rewrite_copies_no_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On Windows chmod sets only the read-only bit: copied onto the temporary file, it made both
    the replace and the clean-up fail. POSIX keeps copying the mode."""
    final = tmp_path / "a.txt"
    final.write_bytes(b"old")
    final.chmod(0o444)
    atomic_write(final, [b"posix"])
    assert stat.S_IMODE(final.stat().st_mode) == 0o444
    monkeypatch.setattr(base, "_WINDOWS", True)
    final.chmod(0o400)
    atomic_write(final, [b"windows"])
    assert final.read_bytes() == b"windows" and stat.S_IMODE(final.stat().st_mode) != 0o400


@WINDOWS_ONLY
def test_windows_real_read_only_page_file_is_an_error_row_and_leaves_no_temporary(tmp_path: Path,
                                                                                 quick_retries: None) -> None:
    root = tmp_path / "out"
    sink = TxtSink(root)
    sink.write(_ok("a.png"))
    (root / "a.png.txt").chmod(stat.S_IREAD)
    try:
        sink.write(_ok("a.png"))
        sink.close()
        assert "read-only" in _rows(root)[0][2]
        assert _files(root) == {"errors.tsv", "a.png.txt"}
    finally:
        (root / "a.png.txt").chmod(stat.S_IREAD | stat.S_IWRITE)


# --- inputs: drives, case, junctions -------------------------------------------------------------------


def test_windows_inputs_on_two_drives_are_a_usage_error() -> None:
    same = [PureWindowsPath(r"C:\scans\a\x.png"), PureWindowsPath(r"c:\scans\b\y.png")]
    assert key_base(same, paths=ntpath) == PureWindowsPath(r"C:\scans")
    apart = [PureWindowsPath(r"C:\scans\x.png"), PureWindowsPath(r"C:\more\y.png"), PureWindowsPath(r"D:\b\z.png")]
    with pytest.raises(ConfigError, match=r"C:\\scans\\x.png and D:\\b\\z.png are on different drives") as caught:
        key_base(apart, paths=ntpath)
    assert caught.value.exit_code == 2
    with pytest.raises(ConfigError, match="different drives"):
        key_base([PureWindowsPath(r"\\server\share\x.png"), PureWindowsPath(r"C:\y.png")], paths=ntpath)


def test_windows_roots_take_the_case_the_file_system_stores(tmp_path: Path) -> None:
    (tmp_path / "Scans" / "Sub").mkdir(parents=True)
    (tmp_path / "Scans" / "Sub" / "x.PNG").write_bytes(b"")
    typed = tmp_path / "scans" / "SUB" / "X.png"
    # As on NTFS (names ignore case): each name comes back as it is stored.
    assert canonical_case(typed, ignore_case=True) == tmp_path / "Scans" / "Sub" / "x.PNG"
    assert canonical_case(tmp_path / "scans" / "new", ignore_case=True) == tmp_path / "Scans" / "new"
    # `run *.png`: thousands of inputs in one folder list it once.
    listings: dict = {}
    for name in ("x.png", "X.PNG", "y.png"):
        canonical_case(tmp_path / "Scans" / "Sub" / name, ignore_case=True, listings=listings)
    assert len(listings) == len((tmp_path / "Scans" / "Sub").parts)
    if sys.platform == "linux":  # names keep their case here, and the probe says so: paths stay as typed
        assert not discover._ignores_case(tmp_path / "Scans" / "Sub")
        assert normalised([tmp_path / "Scans" / "Sub"]) == [tmp_path / "Scans" / "Sub"]


@WINDOWS_ONLY
def test_windows_root_typed_in_another_case_takes_the_stored_case_on_ntfs(tmp_path: Path) -> None:
    (tmp_path / "Scans" / "Sub").mkdir(parents=True)
    assert normalised([str(tmp_path / "scans" / "sub")])[0].parts[-2:] == ("Scans", "Sub")  # Path == ignores case there


def test_windows_junctions_are_links() -> None:
    folder = stat.S_IFDIR | 0o755
    junction = SimpleNamespace(st_mode=folder, st_reparse_tag=0xA0000003)  # IO_REPARSE_TAG_MOUNT_POINT
    symlink = SimpleNamespace(st_mode=stat.S_IFLNK | 0o777, st_reparse_tag=0xA000000C)
    onedrive = SimpleNamespace(st_mode=stat.S_IFREG | 0o644, st_reparse_tag=0x9000001A)  # a placeholder: a file
    assert is_link_stat(junction) and is_link_stat(symlink)  # type: ignore[arg-type]
    assert not is_link_stat(onedrive) and not is_link_stat(os.lstat("."))  # type: ignore[arg-type]


def test_windows_junction_in_the_output_is_not_written_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "out"
    (root / "sub").mkdir(parents=True)
    real_lstat = os.lstat

    def lstat(path: str | Path, *args: object, **kwargs: object) -> object:
        info = real_lstat(path, *args, **kwargs)
        if Path(path) == root / "sub":  # as Windows reports a junction: a folder with a reparse tag
            return SimpleNamespace(st_mode=info.st_mode, st_reparse_tag=0xA0000003)
        return info

    sink = TxtSink(root)
    monkeypatch.setattr(os, "lstat", lstat)
    sink.write(_ok("sub/a.png"))
    sink.close()
    monkeypatch.undo()
    assert _files(root) == {"errors.tsv"}
    [row] = _rows(root)
    assert row[0] == "sub/a.png" and "junction" in row[2]


def _junction(link: Path, target: Path) -> None:
    import _winapi  # type: ignore[import-not-found]

    _winapi.CreateJunction(str(target), str(link))  # no admin rights needed, unlike a symlink


@WINDOWS_ONLY
def test_windows_real_junction_out_of_an_input_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    cv2.imwrite(str(outside / "x.png"), draw_page([50]))
    folder = tmp_path / "in"
    folder.mkdir()
    _junction(folder / "j", outside)
    found = discover.discover([folder])
    assert found.images == [] and any("outside the inputs" in w for w in found.warnings)


@WINDOWS_ONLY
def test_windows_real_junction_in_the_output_is_not_written_through(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    _junction(root / "sub", elsewhere)
    sink = TxtSink(root)
    sink.write(_ok("sub/a.png"))
    sink.close()
    assert list(elsewhere.iterdir()) == []


@WINDOWS_ONLY
def test_windows_real_file_held_open_is_an_error_row(tmp_path: Path, quick_retries: None) -> None:
    root = tmp_path / "out"
    sink = TxtSink(root)
    sink.write(_ok("a.png"))
    with open(root / "a.png.txt", "rb"):  # Python opens without FILE_SHARE_DELETE: no replace meanwhile
        sink.write(_ok("a.png"))
    sink.close()
    assert "open in another program" in _rows(root)[0][2]


# --- workers ---------------------------------------------------------------------------------------------


def test_windows_more_than_61_workers_are_cut_to_61(caplog: pytest.LogCaptureFixture, config: object,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with caplog.at_level(logging.WARNING):
        assert process.pool_size(128, windows=True) == 61
    assert "at most 61" in caplog.text
    assert process.pool_size(61, windows=True) == 61 and process.pool_size(128, windows=False) == 128
    monkeypatch.setattr(process, "_WINDOWS", True)
    backend = process.ProcessBackend(100, config, None)  # type: ignore[arg-type]  # not started
    assert backend.workers == 61


# --- models -----------------------------------------------------------------------------------------------


def test_windows_paddle_model_cache_is_an_ascii_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPELINE_CACHE_DIR", raising=False)
    monkeypatch.setenv("LOCALAPPDATA", r"C:\Users\Jürgen\AppData\Local")
    monkeypatch.setenv("PROGRAMDATA", r"C:\ProgramData")
    paddle = str(models.cache_root(ascii_only=True, windows=True))
    assert paddle.isascii() and paddle.startswith(r"C:\ProgramData")
    assert str(models.cache_root(ascii_only=False, windows=True)).startswith(r"C:\Users\Jürgen")  # onnxruntime reads it
    monkeypatch.setenv("LOCALAPPDATA", r"C:\Users\jo\AppData\Local")
    assert str(models.cache_root(ascii_only=True, windows=True)).startswith(r"C:\Users\jo")
    monkeypatch.setenv("PIPELINE_CACHE_DIR", r"D:\Modèles")
    with pytest.raises(ConfigError, match="PIPELINE_CACHE_DIR"):
        models.cache_root(ascii_only=True, windows=True)
    assert str(models.cache_root(ascii_only=True, windows=False)) == r"D:\Modèles"


# --- config files and printed names ---------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "utf-8"])
def test_windows_config_saved_by_powershell_or_notepad_is_read(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "my.yaml"
    path.write_bytes("# 设置\r\nworkers: 3\r\n".encode(encoding))  # PowerShell 5.1's `>`: UTF-16 with a BOM
    assert load_config(path).workers == 3


def test_windows_config_in_another_encoding_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "my.yaml"
    path.write_bytes("# café\nworkers: 3\n".encode("cp1252"))
    with pytest.raises(ConfigError, match="my.yaml is not UTF-8 text") as caught:
        load_config(path)
    assert caught.value.exit_code == 2
    assert cli.main(["run", "-c", str(path), str(tmp_path)]) == 2


def test_windows_eval_prints_cjk_names_to_a_redirected_legacy_code_page(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows' redirected stdout is the ANSI code page, strict: cp1252 cannot encode 通知."""
    labels, results = tmp_path / "labels.jsonl", tmp_path / "results.jsonl"
    labels.write_text(json.dumps({"image": "通知.png", "text": "hello"}, ensure_ascii=False) + "\n", encoding="utf-8")
    record = {"image": "通知.png", "page": 0, "status": "ok", "text": "hallo", "lines": [], "error": None}
    results.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    monkeypatch.delenv("PYTHONIOENCODING", raising=False)
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    stderr = io.TextIOWrapper(io.BytesIO(), encoding="cp1252", errors="backslashreplace")
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    code = cli.main(["eval", str(labels), str(results)])
    stdout.flush()
    stderr.flush()
    assert code == 0, stderr.buffer.getvalue()  # type: ignore[attr-defined]
    assert "通知.png" in stdout.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]
    assert codecs.lookup(stdout.encoding).name == "utf-8"


def test_windows_page_names_differing_in_case_compare_as_ntfs_does(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """On NTFS `A.png.txt` and `a.png.txt` are one file, `Straße.png.txt` and `Strasse.png.txt` two."""
    monkeypatch.setattr(base, "_case_insensitive", lambda folder: True)  # as the probe answers there
    root = tmp_path / "out"
    sink = TxtSink(root)
    for name in ("Straße.png", "Strasse.png", "A.png", "a.png"):
        sink.write(_ok(name))
    sink.close()
    assert _files(root) == {"errors.tsv", "Straße.png.txt", "Strasse.png.txt", "A.png.txt"}
    [row] = _rows(root)
    assert row[0] == "a.png" and "differ only in case" in row[2]


def test_windows_ctrl_break_stops_a_run_like_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no SIGTERM to send; Ctrl-Break is SIGBREAK. SIGUSR1 stands in for it here."""
    import signal

    from pipeline.run.runner import sigterm_as_interrupt

    if not hasattr(signal, "SIGUSR1"):
        pytest.skip("needs a spare signal to stand in for SIGBREAK")
    monkeypatch.setattr(signal, "SIGBREAK", signal.SIGUSR1, raising=False)
    ignored: list[int] = []
    before = signal.signal(signal.SIGUSR1, lambda signum, frame: ignored.append(signum))
    try:
        with pytest.raises(KeyboardInterrupt), sigterm_as_interrupt():
            os.kill(os.getpid(), signal.SIGUSR1)
        assert not ignored
        restored = signal.getsignal(signal.SIGUSR1)
    finally:
        signal.signal(signal.SIGUSR1, before)
    assert restored is not None and restored is not signal.default_int_handler and callable(restored)


def test_windows_a_stored_key_base_takes_the_stored_case_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An output whose first run typed `c:\\scans` resumes with inputs now spelled `C:\\Scans`."""
    from pipeline.output.keybase import keys_path, settle_base

    (tmp_path / "Scans" / "Sub").mkdir(parents=True)
    out = tmp_path / "results.jsonl"
    keys_path(out, "jsonl").write_text(json.dumps({"base": str(tmp_path / "scans")}), encoding="utf-8")
    monkeypatch.setattr(discover, "_ignores_case", lambda path: True)  # as on NTFS or APFS
    roots = [canonical_case(tmp_path / "scans" / "sub")]
    assert settle_base(out, "jsonl", roots, roots[0], fresh=False) == tmp_path / "Scans"


def test_windows_scheduler_waits_in_slices_so_ctrl_c_is_taken(tmp_path: Path, fake_engine: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Before Python 3.14 a wait on Windows cannot be interrupted: the scheduler waits in slices there.
    Forced on here, every wait is a slice, and the run's records are what they were."""
    from pipeline.run import scheduler

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), draw_page([40 + 10 * i]))
    monkeypatch.setattr(scheduler, "WAIT_SLICE", 0.01)
    timeouts: list[float | None] = []
    real_wait = scheduler.wait

    def wait(futures: object, timeout: float | None = None, return_when: str = "ALL_COMPLETED") -> object:
        timeouts.append(timeout)
        return real_wait(futures, timeout=timeout, return_when=return_when)  # type: ignore[arg-type]

    monkeypatch.setattr(scheduler, "wait", wait)
    out = tmp_path / "out.jsonl"
    summary = run([folder], run_config(None, {"workers": 1, "output": str(out)}), quiet=True)
    assert (summary.ok, summary.failed) == (3, 0)
    assert timeouts and all(t is not None and t <= 0.01 for t in timeouts)


def test_windows_worker_memory_is_private_bytes_there() -> None:
    """psutil's Windows `memory_info()` has `private`; its `rss` is the working set the OS trims."""
    import psutil

    trimmed = SimpleNamespace(rss=50 * 2**20, private=900 * 2**20)  # a leak paged out of the working set
    assert process.worker_memory(trimmed) == 900 * 2**20
    here = psutil.Process().memory_info()
    assert process.worker_memory(here) == getattr(here, "private", here.rss)


def test_windows_watch_waits_for_a_file_still_open_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Explorer sets a copy's final size first: settled by size and time, it is taken only once no
    other program holds it open (`_released`; forced here, a real open file on Windows below)."""
    from pipeline.run import watch

    cv2.imwrite(str(tmp_path / "a.png"), draw_page([50]))
    inbox = watch._Inbox(tmp_path, settle=0.0, seen={}, follow_symlinks=False)
    open_elsewhere = {tmp_path / "a.png"}
    monkeypatch.setattr(watch, "_released", lambda path: path not in open_elsewhere)
    assert inbox.scan() == ([], True)  # first seen
    assert inbox.scan() == ([], True)  # settled, but still open: still settling
    open_elsewhere.clear()
    ready, settling = inbox.scan()
    assert [rel for rel, _, _ in ready] == ["a.png"] and not settling


@WINDOWS_ONLY
def test_windows_file_open_for_writing_is_not_released(tmp_path: Path) -> None:
    from pipeline.run.watch import _released

    path = tmp_path / "a.png"
    path.write_bytes(b"x")
    with open(path, "ab"):
        assert not _released(path)
    assert _released(path)
