"""PaddleX's processor modules imported apart (`pipeline.ocr.paddlex_parts`): without paddlex's
package code, and with three of its helpers stood in for while they are imported; a later
`import paddlex` still gets the real package and helpers."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO

_WORKER_IMPORTS = """
import json, sys
import pipeline.run.preload  # what a forkserver imports for its workers
loaded = sorted(m for m in ("packaging", "prettytable", "colorlog", "filelock", "importlib.metadata",
                            "paddlex.utils.deps", "paddlex.utils.logging", "paddlex.inference.utils.benchmark")
                if m in sys.modules)
from paddlex.inference.models.text_detection import processors
stood_in = processors.is_dep_available.__module__
import paddlex.utils.deps  # now the real module, with the metadata it reads
real = hasattr(paddlex.utils.deps, "EXTRAS") and "packaging" in sys.modules
import paddleocr  # the real package on top, finding the same processor modules
same = sys.modules["paddlex.inference.models.text_detection.processors"] is processors
print(json.dumps({"loaded": loaded, "stood_in": stood_in, "real": real, "same": same}))
"""


def _probe(code: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_a_worker_imports_neither_paddlexs_helpers_nor_what_they_bring() -> None:
    found = _probe(_WORKER_IMPORTS)
    assert found["loaded"] == [], found  # 0.1 s of a worker's start
    assert found["stood_in"] == "pipeline.ocr.paddlex_parts"
    assert found["real"] and found["same"], found


def test_a_paddlex_that_wants_more_of_its_helpers_gets_the_real_ones() -> None:
    code = """
import json, sys
import pipeline.ocr.paddlex_parts as parts
stand_ins = parts._stand_ins
def lacking():  # a release whose processors import a name the stand-in lacks
    modules = stand_ins()
    del modules["paddlex.utils.deps"].class_requires_deps
    return modules
parts._stand_ins = lacking
module = parts.paddlex_part("paddlex.inference.models.text_detection.processors")
print(json.dumps({"helper": module.is_dep_available.__module__, "resize": hasattr(module, "DetResizeForTest"),
                  "root": "paddlex" in sys.modules}))
"""
    found = _probe(code)
    assert found == {"helper": "paddlex.utils.deps", "resize": True, "root": False}, found
