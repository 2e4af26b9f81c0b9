"""The yardstick: plain single-process `PaddleOCR.predict` with the same models and settings as a
run, for the tests (text must match it) and the benchmark (speed is measured against it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.config import Config
from pipeline.core.types import ImageRef, Recognized
from pipeline.ocr.engine import cap_native_threads
from pipeline.ocr.models import ResolvedModels
from pipeline.ocr.predictors import detection_thresholds
from pipeline.ocr.records import Record, ok_record
from pipeline.ocr.runtimes import runtime_named

__all__ = ["offline_paddleocr", "reference_lines", "reference_ocr", "reference_record", "reference_records"]


def offline_paddleocr(models: ResolvedModels, **settings: Any) -> Any:
    """Plain `PaddleOCR(...)` on the given model folders, the orientation models off (none ships
    offline), and `settings` on top: everything else at PaddleOCR's own defaults."""
    from paddleocr import PaddleOCR

    return PaddleOCR(
        text_detection_model_dir=models.detection.dir,
        text_detection_model_name=models.detection.name,
        text_recognition_model_dir=models.recognition.dir,
        text_recognition_model_name=models.recognition.name,
        use_doc_orientation_classify=False,
        use_doc_unwarping=False,
        use_textline_orientation=False,
        **settings,
    )


def reference_ocr(config: Config, models: ResolvedModels, threads: int) -> Any:
    """PaddleOCR's own pipeline (detection + recognition, no orientation models), `threads` CPU threads."""
    cap_native_threads(threads)
    det = config.detection
    # Thresholds left None are the detection model's own, as in a run (PaddleOCR's pipeline would
    # take its own pipeline defaults instead); an official model (no folder yet) takes PaddleOCR's.
    thresholds = {"thresh": det.thresh, "box_thresh": det.box_thresh, "unclip_ratio": det.unclip_ratio}
    if models.detection.dir is not None:
        thresholds = detection_thresholds(models.detection.dir, **thresholds)
    return offline_paddleocr(
        models,
        paddlex_config=_ocr_pipeline_config(det.max_side_limit),
        text_det_limit_side_len=det.limit_side_len,
        text_det_limit_type=det.limit_type,
        text_det_thresh=thresholds["thresh"],
        text_det_box_thresh=thresholds["box_thresh"],
        text_det_unclip_ratio=thresholds["unclip_ratio"],
        text_rec_score_thresh=config.recognition.score_threshold,
        text_recognition_batch_size=config.recognition.batch_size,
        # The same runtime as the run (PaddleOCR takes engine= and engine_config= itself).
        **runtime_named(config.engine.runtime).predictor_kwargs(
            threads, config.engine.device, config.engine.enable_mkldnn, config.engine.mkldnn_cache_capacity
        ),
    )


def _ocr_pipeline_config(max_side_limit: int) -> dict[str, Any]:
    """PaddleX's OCR pipeline config with a run's detection cap: PaddleOCR's constructor takes no
    `max_side_limit` (its own 4000 px would detect a 300-dpi A4 scan larger than a run does)."""
    from paddlex.inference import load_pipeline_config

    config: dict[str, Any] = load_pipeline_config("OCR")
    config["SubModules"]["TextDetection"]["max_side_limit"] = max_side_limit
    return config


def reference_lines(ocr: Any, pixels: np.ndarray) -> list[str]:
    return [str(text) for text in ocr.predict(pixels)[0]["rec_texts"]]


def reference_records(ocr: Any, path: str, rel: str, config: Config) -> list[Record]:
    """The record a run must write for every page of the file at `path`: PaddleOCR's lines and boxes,
    read by PaddleOCR's own loader (not `pipeline.inputs.reader`, so a reader bug cannot hide on both
    sides), made into records as a run makes them (reading order, blocks, score threshold, full-width
    letters folded)."""
    return [reference_record(result, ImageRef(page, path, rel, page), config)
            for page, result in enumerate(ocr.predict(path))]


def reference_record(result: Any, image: ImageRef, config: Config) -> Record:
    """One page of `PaddleOCR.predict` output made into the record a run makes of it."""
    boxes = [[[int(x), int(y)] for x, y in np.asarray(poly).tolist()] for poly in result["rec_polys"]]
    recognized = [Recognized(str(t), float(s)) for t, s in zip(result["rec_texts"], result["rec_scores"])]
    return ok_record(image, boxes, recognized, config.recognition.score_threshold,
                     in_reading_order=config.layout.reading_order, fold=config.recognition.fold_fullwidth)
