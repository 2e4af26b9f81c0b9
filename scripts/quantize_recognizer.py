"""Make an int8 copy of the PP-OCRv6 tiny recognizer, calibrated on pages of yours (`pipeline.tools.quantize`).

    pip install -e '.[quantize]'
    python scripts/quantize_recognizer.py my_pages --out models/rec-int8 --config int8.yaml
    python -m pipeline run my_pages -o out.jsonl --config int8.yaml

Recognition then takes about a quarter less CPU, and the text changes (README, "int8 recognition").
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.tools.quantize import KEEP_FLOAT, MAX_LINES, MODEL, quantize_recognizer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", help="images, PDFs or folders of the kind of pages to read")
    parser.add_argument("--out", type=Path, required=True, help="the model folder to write")
    parser.add_argument("--config", type=Path, help="also write the config that reads the folder to this file")
    parser.add_argument("--model", default=MODEL, help="the embedded recognizer (default: %(default)s)")
    parser.add_argument("--keep-float", type=int, default=KEEP_FLOAT,
                        help="first convolutions left float (default: %(default)s)")
    parser.add_argument("--max-lines", type=int, default=MAX_LINES, help="text lines to calibrate on (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        done = quantize_recognizer(args.inputs, args.out, model=args.model, keep_float=args.keep_float,
                                   max_lines=args.max_lines)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in done.skipped:
        print(f"warning: {problem}", file=sys.stderr)
    config = (f"models:\n  recognition:\n    source: local\n    name: {args.model}\n"
              f"    dir: {json.dumps(str(done.folder.resolve()))}\n")
    if args.config is not None:
        args.config.write_text(config, encoding="utf-8")
    print(f"wrote {done.folder}: {done.convolutions} convolutions int8, the first {done.kept_float} float, "
          f"ranges from {done.lines} text lines. Use it with this config"
          f"{f' (written to {args.config})' if args.config else ''}:\n{config}", end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
