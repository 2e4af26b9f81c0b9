"""`python -m pipeline bench`: how fast is each way of running the pipeline on this machine, and
how fast against what a user would run instead?

    python -m pipeline bench INPUT [--workers 1,2,4] [--threads 1,2] [--modes serial,thread,process]
                                   [--ref-threads 1,2] [--reference-engine paddle|onnxruntime]
                                   [--yardsticks paddleocr,rapidocr,tesseract,faster-paddle|none]
                                   [--set KEY=VALUE] [--variant LABEL:KEY=VALUE,...]
                                   [--repeat 3] [--rounds 3] [--out bench-out]

One file per job:

- `plan`: flags, one config file per variant (`--set`, `--variant`), the list of cells;
- `cell`: inside one fresh cell process, warm-up apart, then timed runs with the pool warm;
- `yardsticks`: PaddleOCR with our settings, and the peers at their own defaults: plain PaddleOCR,
  RapidOCR 3.x, Tesseract (a process per page), faster-paddle; why one is missing here;
- `isolate`: a child process with a timeout, its wall time, its tree's peak PSS (RSS where the OS
  has no PSS), and the processes it left running;
- `sampling`: PSS/RSS and CPU of a process tree, and the other programs' load;
- `whole`: every setting as the whole process its user would start, in alternated rounds;
- `stats`: rows, spreads, speed-ups, per-round wall-time ratios, text differences;
- `verdicts`: the scaling note, the headline, the recommendation;
- `report` / `fmt` / `chart`: the table, bench.json, and bench.png (matplotlib);
- `options`: the flags (light: `pipeline run` imports it for the command line);
- `command`: the order of the work.
"""

# Nothing is imported here: `python -m pipeline.tools.bench.yardsticks` is timed as a whole process, and
# must not pay for the bench's own modules.
