"""Time how long a review page takes to open in headless Chromium.

    python scripts/time_review_page.py review/ [--view 50000] [--hash status=errors] [--repeat 5]

Opens `review/index.html` (with `#view=N`: a page's view too) in a fresh tab, `--repeat` times
after one warm-up, and prints the median and range of two figures: `ready`, the page's own clock
(`performance.now()`, from the start of the navigation) when the list and the page view are drawn
and the thumbnail has loaded, and `wall`, from the navigation command until this script sees it
ready. The browser (`pipeline.tools.review.chromium`) is started once, so its own start-up is not
counted, unless `--cold` starts one per run (then `wall` runs from its launch). It runs without
`--allow-file-access-from-files`, as a user's browser does.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from pipeline.tools.review.chromium import Chromium, find_chromium

_STATE = ("({ready: document.body && document.body.getAttribute('data-ready'),"
          " problem: document.body && document.body.getAttribute('data-problem'),"
          " rows: document.querySelectorAll('#rows tr').length,"
          " boxes: document.querySelectorAll('#boxes polygon').length,"
          " listed: (document.getElementById('listed') || {}).textContent})")


def open_once(browser: Chromium, url: str, timeout: float) -> tuple[float, float, dict]:
    started = time.perf_counter()
    tab = browser.open(url)
    try:
        state = tab.wait_for(f"(function () {{ var s = {_STATE}; return (s.ready || s.problem) ? s : null; }})()",
                             timeout)
        wall = time.perf_counter() - started
    finally:
        tab.close()
    return float(state["ready"] or "nan") / 1000, wall, state


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="a folder written by `pipeline review`")
    parser.add_argument("--view", type=int, help="also open this page (position in review order)")
    parser.add_argument("--hash", default="", help="more of the address after #, e.g. status=ok&from=0.5&to=0.9")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--chromium", default=find_chromium())
    parser.add_argument("--cold", action="store_true",
                        help="start a new browser for every run, and count its start-up in `wall`")
    args = parser.parse_args()
    parts = [part for part in (args.hash, f"view={args.view}" if args.view is not None else "") if part]
    url = (args.folder / "index.html").resolve().as_uri() + ("#" + "&".join(parts) if parts else "")
    if args.cold:
        runs = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            with Chromium(args.chromium, timeout=args.timeout) as browser:
                ready, _wall, state = open_once(browser, url, args.timeout)
                runs.append((ready, time.perf_counter() - started, state))
    else:
        with Chromium(args.chromium, timeout=args.timeout) as browser:
            open_once(browser, url, args.timeout)  # warm-up: the browser's first tab
            runs = [open_once(browser, url, args.timeout) for _ in range(args.repeat)]
    ready, wall = [run[0] for run in runs], [run[1] for run in runs]
    state = runs[-1][2]
    print(f"{url}\n  ready {statistics.median(ready):.2f} s (min {min(ready):.2f}, max {max(ready):.2f}); "
          f"wall {statistics.median(wall):.2f} s (min {min(wall):.2f}, max {max(wall):.2f}); {args.repeat} runs")
    print(f"  shown: {state.get('listed')}, {state.get('rows')} rows, {state.get('boxes')} boxes drawn"
          + (f"; problem: {state['problem']}" if state.get("problem") else ""))
    return 1 if state.get("problem") else 0


if __name__ == "__main__":
    sys.exit(main())
