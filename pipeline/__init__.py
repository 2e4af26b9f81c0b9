"""pipeline: parallel OCR over folders of images, one PaddleOCR engine per worker process.

Example:
    >>> from pipeline.run.settings import run_config
    >>> from pipeline.run.runner import run
    >>> summary = run(["sample_images"], run_config(None, {"output": "results.jsonl"}))
"""

__version__ = "0.1.0"
