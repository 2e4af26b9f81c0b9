"""The OCR engine of one worker: PaddleOCR's text detection and text recognition models, on the
runtime the config names (`pipeline.ocr.runtimes`: ONNX Runtime by default, Paddle Inference as reference).

The two models are used apart so that the regions of one image can be recognized by several
workers. On the ONNX runtimes they are `pipeline.ocr.predictors`: PaddleX's own pre- and
post-processing on our ONNX Runtime sessions, without importing paddleocr or paddlex (which cost
a worker about 2 s and 125 MiB before its first page); on the paddle runtime, the reference, they
are `paddleocr.TextDetection` / `paddleocr.TextRecognition`. Either way detection post-processing,
box order and cropping are PaddleX's own, so the text matches `PaddleOCR.predict` with the same
models and settings.

An engine holds native predictors and is never pickled: each worker builds its own
(see `pipeline.run.worker`).
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any, Callable

import numpy as np

from pipeline.core.timing import timed
from pipeline.core.types import Box, Recognized
from pipeline.ocr.models import ResolvedModels
from pipeline.ocr.predictors import TextDetector, TextRecognizer, box_tools, detection_thresholds
from pipeline.ocr.registry import EngineSettings
from pipeline.ocr.runtimes import Runtime, runtime_named

__all__ = ["OcrEngine", "cap_native_threads"]


def cap_native_threads(threads: int) -> None:
    """Cap OpenMP/MKL/BLAS pools before paddle is imported: otherwise every worker process starts
    one thread per core, and workers x threads oversubscribe the machine."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = str(threads)
    import cv2

    # OpenCV's own pool starts one thread per core in every worker and spins (sched_yield) between
    # the resizes and warps of each page: workers x cores threads on a machine of `cores`.
    cv2.setNumThreads(threads)
    # PaddleX checks model hosts at import unless told not to; we run offline.
    os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")
    # Paddle warns about a C++ build cache at import; it never compiles anything here.
    warnings.filterwarnings("ignore", message="No ccache found")


def _pad_colour(image: np.ndarray) -> tuple[int, int, int]:
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    return tuple(int(v) for v in np.median(border, axis=0))  # type: ignore[return-value]


class _PadToBucket:
    """Wraps PaddleX's recognition resize: pads each normalised crop on the right with zeros (what
    PaddleX's own batching pads with) up to a multiple of `bucket` pixels. oneDNN builds and caches
    kernels per input shape; a page of lines of ~20 distinct widths otherwise misses that cache
    on nearly every line."""

    def __init__(self, inner: Any, bucket: int) -> None:
        self._inner = inner
        self._bucket = bucket

    def __call__(self, imgs: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for chw in self._inner(imgs=imgs):
            width = chw.shape[-1]
            target = -(-width // self._bucket) * self._bucket
            if target != width:
                chw = np.pad(chw, ((0, 0), (0, 0), (0, target - width)))
            out.append(chw)
        return out


Detect = Callable[[np.ndarray, int, "float | None"], Any]  # (image, max side, box growth) -> PaddleX's dt_polys
Recognize = Callable[[list[np.ndarray], int], list[tuple[str, float]]]  # (crops, batch size) -> (text, score)


def _onnx_models(settings: EngineSettings, models: ResolvedModels, runtime: Runtime) -> tuple[Callable[[int], Detect], Recognize]:
    """A detector maker (by threads) and a recognizer made of `pipeline.ocr.predictors`."""
    det = settings.detection

    def detector(threads: int) -> Detect:
        return TextDetector(
            str(models.detection.dir), runtime.session_settings(threads), limit_side_len=det.limit_side_len,
            limit_type=det.limit_type, thresh=det.thresh, box_thresh=det.box_thresh, unclip_ratio=det.unclip_ratio,
            large_input_pixels=det.large_input_pixels,
        ).detect

    rec = TextRecognizer(str(models.recognition.dir), runtime.session_settings(settings.threads),
                         width_bucket=settings.recognition.width_bucket)
    return detector, rec.recognize


def _paddle_models(settings: EngineSettings, models: ResolvedModels, runtime: Runtime) -> tuple[Callable[[int], Detect], Recognize]:
    """The same from `paddleocr.TextDetection` / `TextRecognition` (the paddle runtime)."""
    from paddleocr import TextDetection, TextRecognition  # heavy: import only where used

    engine, det = settings.engine, settings.detection

    def on_runtime(threads: int) -> dict[str, Any]:
        return runtime.predictor_kwargs(threads, engine.device, engine.enable_mkldnn, engine.mkldnn_cache_capacity)

    def detector(threads: int) -> Detect:
        model = TextDetection(
            model_name=models.detection.name, model_dir=models.detection.dir, limit_side_len=det.limit_side_len,
            limit_type=det.limit_type, thresh=det.thresh, box_thresh=det.box_thresh, unclip_ratio=det.unclip_ratio,
            **on_runtime(threads),
        )
        return lambda image, max_side, unclip: model.predict(image, max_side_limit=max_side,
                                                             unclip_ratio=unclip)[0]["dt_polys"]

    rec = TextRecognition(model_name=models.recognition.name, model_dir=models.recognition.dir,
                          **on_runtime(settings.threads))
    if settings.recognition.width_bucket:
        _bucket_recognition_widths(rec, settings.recognition.width_bucket)

    def recognize(crops: list[np.ndarray], batch_size: int) -> list[tuple[str, float]]:
        return [(str(r["rec_text"]), float(r["rec_score"])) for r in rec.predict(crops, batch_size=batch_size)]

    return detector, recognize


def _bucket_recognition_widths(rec: Any, bucket: int) -> None:
    try:
        transforms = rec.paddlex_predictor.pre_tfs
        inner = transforms["ReisizeNorm"]
    except (AttributeError, KeyError):
        raise RuntimeError(
            "recognition.width_bucket needs PaddleX's text recognition predictor (pre_tfs['ReisizeNorm']); "
            "set it to 0 with this PaddleX version"
        ) from None
    transforms["ReisizeNorm"] = _PadToBucket(inner, bucket)


class OcrEngine:
    """One detection and one recognition predictor. Not thread-safe: one per thread or process."""

    def __init__(self, settings: EngineSettings, models: ResolvedModels) -> None:
        cap_native_threads(settings.threads)
        # Scaling a large page down to detection.max_side_limit is what we ask for, not news: PaddleX
        # would log it for every such page.
        logging.getLogger("paddlex").addFilter(lambda record: "exceeds max_side_limit" not in record.getMessage())
        runtime = runtime_named(settings.engine.runtime)
        build = _paddle_models if runtime.model_format == "paddle" else _onnx_models
        detector, self._recognize = build(settings, models, runtime)
        det = settings.detection
        self._det = detector(settings.threads)
        # A second detector using every core, for a page detected while the other workers idle
        # (a single large page): detection cannot be split across workers, but across threads.
        # Built on first use: most runs (many pages) never need it, and each costs start-up time.
        all_threads = settings.all_threads
        self._wide_threads = all_threads if det.use_idle_cores and all_threads > settings.threads else 0
        self._det_wide: Detect | None = None
        self._make_detector = detector
        self._sort, self._crop = box_tools()
        self._pad_below_side = det.pad_below_side
        self._max_side_limit = det.max_side_limit  # the wrapper takes this per call, not at init
        # Crops padded before detection grow their boxes by crop_unclip_ratio, else by the model's own
        # growth (its inference.yml), whatever the pages' unclip_ratio is; an official model (no
        # folder yet) grows them as its pages.
        self._crop_unclip_ratio = det.crop_unclip_ratio
        if self._crop_unclip_ratio is None and models.detection.dir is not None:
            self._crop_unclip_ratio = detection_thresholds(models.detection.dir, None, None, None)["unclip_ratio"]
        self._batch_size = settings.recognition.batch_size

    def __reduce__(self) -> Any:
        raise TypeError("cannot pickle an OcrEngine: it holds native sessions; each worker builds its own")

    def warm_up(self) -> None:
        """The first inference pays for graph optimisation; do it before timing real work."""
        page = np.full((64, 256, 3), 255, dtype=np.uint8)
        page[24:40, 16:240] = 0
        regions = self.detect(page)
        self.recognize([crop for _, crop in regions] or [page[16:48]])

    def _detector(self, wide: bool) -> Detect:
        if not (wide and self._wide_threads):
            return self._det
        if self._det_wide is None:
            self._det_wide = self._make_detector(self._wide_threads)
        return self._det_wide

    @timed("detect")
    def detect(self, image: np.ndarray, wide: bool = False) -> list[tuple[Box, np.ndarray]]:
        """Text regions in reading order (PaddleX's sort), each as (box, BGR crop). `wide` uses
        the detector with every core's threads (same model and settings, same result)."""
        height, width = image.shape[:2]
        pad, unclip = 0, None
        if self._pad_below_side and min(image.shape[:2]) < self._pad_below_side:
            # DB finds no text touching the border, which is where tight line crops have it.
            import cv2

            pad = max(8, min(image.shape[:2]) // 2)
            image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=_pad_colour(image))
            unclip = self._crop_unclip_ratio  # grown into the padding, a short word's box reads the padding too
        polys = self._detector(wide)(image, self._max_side_limit, unclip)
        if len(polys) == 0:
            return []
        polys = self._sort(polys)
        regions = []
        for poly, crop in zip(polys, self._crop(image, polys)):
            if crop.size == 0 or crop.shape[0] == 0 or crop.shape[1] == 0:
                continue
            box = [
                [min(max(int(x) - pad, 0), width - 1), min(max(int(y) - pad, 0), height - 1)]
                for x, y in np.asarray(poly).tolist()
            ]
            regions.append((box, np.ascontiguousarray(crop)))
        return regions

    @timed("recognize")
    def recognize(self, crops: list[np.ndarray]) -> list[Recognized]:
        """Text and confidence of each crop, in the order given."""
        if not crops:
            return []
        # A batch is padded to its widest crop: batching crops of similar shape wastes least.
        order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1] / max(1, crops[i].shape[0]))
        results = self._recognize([crops[i] for i in order], self._batch_size)
        recognized: list[Recognized] = [Recognized("", 0.0)] * len(crops)
        for i, (text, score) in zip(order, results):
            recognized[i] = Recognized(text, score)
        return recognized
