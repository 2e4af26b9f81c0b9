"""Character error rate of `pipeline run` on a labelled folder (a `labels.jsonl` of
{"image": ..., "text": ...} objects, as in ocr-real-v1).

    python scripts/eval_accuracy.py ../shared/data/ocr-real-v1
    python scripts/eval_accuracy.py DATA --set detection.unclip_ratio=1.5 --set detection.pad_below_side=0

Each `--set` is one config override (dotted key = YAML value); give several to compare settings.
Full-width and half-width forms are folded (NFKC) before scoring; CER is reported with and
without whitespace, since a dropped space is a lesser error than a wrong letter.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.config import load_config
from pipeline.runner import run

# Images whose label lists regions in no reliable order: scored as a bag of characters.
_UNORDERED = {"easyocr_chinese_sign.jpg"}


def _normal(text: str, spaces: bool) -> str:
    text = unicodedata.normalize("NFKC", text)
    return text if spaces else "".join(text.split())


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


@dataclass
class Score:
    errors: int = 0
    errors_no_space: int = 0
    chars: int = 0
    chars_no_space: int = 0
    exact: int = 0
    empty: int = 0
    images: int = 0

    def add(self, image: str, got: str, want: str) -> None:
        if image in _UNORDERED:
            got, want = "".join(sorted(_normal(got, False))), "".join(sorted(_normal(want, False)))
        self.images += 1
        self.exact += _normal(got, True) == _normal(want, True)
        self.empty += not got.strip()
        self.errors += _edit_distance(_normal(got, True), _normal(want, True))
        self.chars += len(_normal(want, True))
        self.errors_no_space += _edit_distance(_normal(got, False), _normal(want, False))
        self.chars_no_space += len(_normal(want, False))

    def describe(self) -> str:
        return (f"CER {self.errors / max(1, self.chars):.2%}, CER ignoring spaces "
                f"{self.errors_no_space / max(1, self.chars_no_space):.2%}, exact {self.exact}/{self.images}, "
                f"empty {self.empty}")


def evaluate(data: Path, overrides: dict[str, object], workers: int) -> Score:
    labels = {}
    for line in (data / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            labels[item["image"]] = item["text"]
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "results.jsonl"
        config = load_config(None, {**overrides, "workers": workers, "output": str(output)})
        run([data], config, quiet=True, overwrite=True)
        records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    score = Score()
    for record in records:
        if record["image"] in labels:
            score.add(record["image"], record["text"], labels[record["image"]])
    return score


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="folder with images and labels.jsonl")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, e.g. detection.unclip_ratio=1.5 (repeatable)")
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = yaml.safe_load(value)
    score = evaluate(args.data, overrides, args.workers)
    settings = ", ".join(f"{k}={v}" for k, v in overrides.items()) or "default config"
    print(f"{args.data.name} ({settings}): {score.describe()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
