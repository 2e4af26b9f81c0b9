"""A non-editable install runs on the packaged default config, from any folder.

The project is built as a wheel (offline: --no-build-isolation, --no-index) and installed into a
fresh virtual environment. That environment borrows the heavy dependencies (paddle, ...) from the
current one through a `.pth` path entry, which does not run the current environment's own `.pth`
files, so the editable install of `pipeline` (a `.pth` import hook) stays out of it. Then
`ocr-pipeline run sample_images` runs from an unrelated folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from conftest import REPO, SAMPLES

_BIN = "Scripts" if sys.platform == "win32" else "bin"


def _check(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _wheel(tmp_path: Path) -> Path:
    source = tmp_path / "src"  # a copy: building in place would leave build/ in the repo
    shutil.copytree(REPO / "pipeline", source / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    dist = tmp_path / "dist"
    _check([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
            "-w", str(dist), str(source)])
    (wheel,) = dist.glob("pipeline-*.whl")
    return wheel


def test_a_wheel_install_runs_on_the_packaged_config(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path)
    assert "pipeline/config/default.yaml" in zipfile.ZipFile(wheel).namelist()

    venv = tmp_path / "venv"
    _check([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / _BIN / ("python.exe" if sys.platform == "win32" else "python")
    _check([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)])
    site = Path(_check([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "_borrowed_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    imported = _check([str(python), "-c", "import pipeline; print(pipeline.__file__)"], cwd=elsewhere, env=env)
    assert Path(imported.stdout.strip()).parent == site / "pipeline"

    # No -o: the packaged config's output (results.jsonl) lands in the current folder.
    script = next((venv / _BIN).glob("ocr-pipeline*"))
    done = _check([str(script), "run", str(SAMPLES), "--workers", "2", "--quiet"], cwd=elsewhere, env=env)
    assert f"Config: {site / 'pipeline' / 'config' / 'default.yaml'}" in done.stderr.splitlines()
    records = [json.loads(line) for line in (elsewhere / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == 7 and all(r["status"] == "ok" for r in records)
    assert any(r["image"] == "sign_mixed.jpg" and "EXIT" in r["text"] for r in records)
    printed = _check([str(script), "config"], cwd=elsewhere, env=env).stdout
    assert printed == (REPO / "pipeline" / "config" / "default.yaml").read_text(encoding="utf-8")


def test_the_types_that_cross_to_the_workers_import_nothing_heavy() -> None:
    heavy = ("numpy", "cv2", "PIL", "paddle", "paddlex", "paddleocr")
    code = ("import sys, pipeline.core.types, pipeline.ocr.records, pipeline.output.formats, pipeline.errors, pipeline.config; "
            f"print([m for m in {heavy!r} if m in sys.modules])")
    done = _check([sys.executable, "-c", code], cwd=REPO)
    assert done.stdout.strip() == "[]"
