"""Write a synthetic results.jsonl of many pages, to time `pipeline review` at scale.

    python scripts/make_review_records.py --pages 100000 --out big/results.jsonl [--images]

Pages of 5-40 lines of random words in two columns, with boxes, blocks and scores (most high, some
pages with low lines), 2% error records and 1% empty pages, as a run writes them. `--images` also
writes a small PNG for every page (one shared content, 100,000 files take about 100 MB) and the key
base beside the results, so `review` finds the scans and reads their sizes as it would for a run.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import cv2
import numpy as np

WORDS = ("the harbor office will repaint old lighthouse during first two weeks of june walking path "
         "along north pier closed while work progress please use park road instead boats may still "
         "east dock invoice total thank you questions call number page date amount").split()


def record(i: int, rng: random.Random, width: int, height: int) -> dict:
    image = f"scans/batch{i // 1000:03d}/page{i:06d}.png"
    if rng.random() < 0.02:
        return {"image": image, "page": 0, "status": "error", "text": "", "lines": [],
                "error": rng.choice(["cannot decode image: truncated file", "task timed out after 300 s"])}
    if rng.random() < 0.01:
        return {"image": image, "page": 0, "status": "ok", "text": "", "lines": [], "error": None}
    doubtful = rng.random() < 0.1
    lines, count = [], rng.randint(5, 40)
    per_column = (count + 1) // 2
    for n in range(count):
        column, row = divmod(n, per_column)
        x0, y0 = 40 + column * width // 2, 60 + row * (height - 120) // per_column
        x1, y1 = x0 + rng.randint(width // 5, width // 2 - 60), y0 + 28
        score = rng.uniform(0.3, 0.8) if doubtful and rng.random() < 0.3 else rng.uniform(0.9, 1.0)
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 9)))
        lines.append({"text": text, "score": round(score, 5), "box": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
                      "block": column})
    return {"image": image, "page": 0, "status": "ok", "text": "\n".join(line["text"] for line in lines),
            "lines": lines, "error": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=100_000)
    parser.add_argument("--out", type=Path, required=True, help="the results.jsonl to write")
    parser.add_argument("--images", action="store_true", help="also write a PNG per page and the key base")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    width, height = 1240, 1754  # an A4 page at 150 dpi
    args.out.parent.mkdir(parents=True, exist_ok=True)
    png = b""
    if args.images:
        page = np.full((height // 4, width // 4), 255, np.uint8)  # small: only the header's size is read
        png = cv2.imencode(".png", cv2.resize(page, (width, height), interpolation=cv2.INTER_NEAREST))[1].tobytes()
    root = args.out.parent / "scans-root"
    with open(args.out, "w", encoding="utf-8", newline="\n") as handle:
        for i in range(args.pages):
            rec = record(i, rng, width, height)
            handle.write(json.dumps(rec, ensure_ascii=False) + "\n")
            if args.images:
                path = root / rec["image"]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(png)
    if args.images:
        keys = args.out.with_name(args.out.name + ".keys.json")
        keys.write_text(json.dumps({"base": str(root.resolve())}) + "\n", encoding="utf-8")
    print(f"{args.pages} records: {args.out} ({args.out.stat().st_size / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
