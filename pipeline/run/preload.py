"""What the forkserver imports before it forks any worker (`pipeline.run.start_method`): the modules
every worker of the ONNX runtimes imports anyway (numpy, OpenCV, pyclipper, shapely, PaddleX's text
processors, ours), so each worker starts with them loaded and shares their pages with the others.

ONNX Runtime is not among them: it starts a thread when imported, and a process forked while
another of its threads runs may give its child a lock that thread held. It costs a worker 45 ms.
Nor is paddle (the reference runtime): a worker that needs it imports it itself.

Last, what was imported is frozen out of the garbage collector's reach (`gc.freeze`, whose
documentation suggests it before a fork): a worker's collections then never write to those
objects, so their pages stay shared instead of being copied into each worker; and the server,
when the command ends, leaves without collecting them (0.1-0.2 s).
"""

import gc

from pipeline.ocr.predictors import import_processors
from pipeline.run import worker  # noqa: F401  (imported for its imports)

import_processors()
gc.freeze()
