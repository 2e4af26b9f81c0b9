"""pipeline: parallel OCR over folders of images, one PaddleOCR engine per worker process.

Example:
    >>> from pipeline.config import load_config
    >>> from pipeline.runner import run
    >>> summary = run(["sample_images"], load_config(None, {"output": "results.jsonl"}))
"""

__version__ = "0.1.0"
