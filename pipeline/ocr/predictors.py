"""PaddleOCR's text detection and recognition predictors for the ONNX runtimes, made of PaddleX's
own pre- and post-processing, without importing the `paddlex` package (`pipeline.ocr.paddlex_parts`
imports those modules apart: `import paddleocr` costs a worker about 2 s and 125 MiB).

`TextDetector` and `TextRecognizer` read a model folder's `inference.yml` and chain those
processors as PaddleX's `TextDetRunnerPredictor` / `TextRecRunnerPredictor` do (their `_build`
and `process`), on an ONNX Runtime session of ours (so that its options are ours to set). Their
boxes, texts and scores equal `paddleocr.TextDetection` / `TextRecognition` on
`engine="onnxruntime"` with the same folder: tests/test_predictors.py checks it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

from pipeline.ocr.large_inputs import large_run
from pipeline.ocr.models import SETTINGS_JSON
from pipeline.ocr.paddlex_parts import paddlex_part
from pipeline.ocr.runtimes import SessionSettings

__all__ = ["TextDetector", "TextRecognizer", "box_tools", "detection_thresholds", "import_processors",
           "whole_pixel_shift"]

_DET = "paddlex.inference.models.text_detection.processors"
_REC = "paddlex.inference.models.text_recognition.processors"
_VISION = "paddlex.inference.models.common.vision.processors"
_SORT = "paddlex.inference.pipelines.components.common.sort_boxes"
_CROP = "paddlex.inference.pipelines.components.common.crop_image_regions"
# Detection models PaddleX resizes by the long side by default (text_detection/predictor.py).
_MAX_LIMIT_MODELS = frozenset({
    "PP-OCRv3_mobile_det", "PP-OCRv3_server_det", "PP-OCRv4_mobile_det", "PP-OCRv4_server_det",
    "PP-OCRv5_mobile_det", "PP-OCRv5_server_det", "PP-OCRv6_tiny_det", "PP-OCRv6_small_det",
    "PP-OCRv6_medium_det",
})


def _model_config(folder: Path) -> tuple[str, dict[str, dict[str, Any]], dict[str, Any]]:
    """The model's name, its pre-processing ops by name, and its post-processing, from inference.yml
    (or the same as JSON, which a prepared embedded folder holds too: `pipeline.ocr.models`)."""
    settings = folder / SETTINGS_JSON
    if settings.is_file():
        config = json.loads(settings.read_text(encoding="utf-8"))
    else:
        # libyaml's loader where PyYAML has it: a recognizer's file lists thousands of characters,
        # which the pure-Python loader took 0.5 s a worker to read (libyaml 30 ms).
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        config = yaml.load((folder / "inference.yml").read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 (a safe loader)
    ops = {}
    for op in config["PreProcess"]["transform_ops"]:
        (key, args), = op.items()
        ops[key] = dict(args or {})
    return str(config["Global"]["model_name"]), ops, dict(config["PostProcess"])


def detection_thresholds(folder: str | Path, thresh: float | None, box_thresh: float | None,
                         unclip_ratio: float | None) -> dict[str, float]:
    """The DB post-processing settings a detector in `folder` runs with: those given, the rest the
    model's own (its inference.yml), as `TextDetector` takes them."""
    return _thresholds(_model_config(Path(folder))[2], thresh, box_thresh, unclip_ratio)


def _thresholds(post: dict[str, Any], thresh: float | None, box_thresh: float | None,
                unclip_ratio: float | None) -> dict[str, float]:
    given = {"thresh": thresh, "box_thresh": box_thresh, "unclip_ratio": unclip_ratio}
    own = {"thresh": 0.3, "box_thresh": 0.6, "unclip_ratio": 2.0}  # PaddleX's defaults
    return {key: float(post.get(key, own[key])) if value is None else value for key, value in given.items()}


class _OnnxModel:
    """One model's session, fed the way PaddleX's ONNXRuntimeRunner feeds it (one input)."""

    def __init__(self, folder: Path, session: SessionSettings, *, varying_shapes: bool = False) -> None:
        self._session = session.session(folder / "inference.onnx", varying_shapes=varying_shapes)
        self._input = self._session.get_inputs()[0].name

    def run(self, batch: np.ndarray, options: Any = None) -> list[np.ndarray]:
        """The model's outputs for `batch`; `options`: ONNX Runtime's RunOptions, or None."""
        return self._session.run(None, {self._input: np.ascontiguousarray(batch)}, options)  # type: ignore[no-any-return]


def _as_given(image: np.ndarray) -> np.ndarray:
    return image


def _bgr_to_rgb(image: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _reader(ops: dict[str, dict[str, Any]]) -> Callable[[np.ndarray], np.ndarray]:
    """PaddleX's ReadImage on an array: the image as given (BGR), or turned to RGB when the model asks."""
    decode = ops.get("DecodeImage", {})
    if decode.get("channel_first"):
        raise ValueError("inference.yml: DecodeImage with channel_first is not supported")
    return _bgr_to_rgb if decode.get("img_mode", "BGR") == "RGB" else _as_given


class TextDetector:
    """PaddleX's text detection predictor on ONNX Runtime: `detect(image)` -> polygons (PaddleX's
    `dt_polys`). Settings left None take the model's own defaults, as in PaddleX."""

    def __init__(self, folder: str | Path, session: SessionSettings, *, limit_side_len: int | None = None,
                 limit_type: str | None = None, thresh: float | None = None, box_thresh: float | None = None,
                 unclip_ratio: float | None = None, max_side_limit: int = 4000, large_input_pixels: int = 0) -> None:
        det, vision = paddlex_part(_DET), paddlex_part(_VISION)
        folder = Path(folder)
        name, ops, post = _model_config(folder)
        resize = ops.get("DetResizeForTest", {})
        if name in _MAX_LIMIT_MODELS:
            side, kind = resize.pop("resize_long", 960), resize.pop("limit_type", "max")
        else:
            side, kind = resize.pop("resize_long", 736), resize.pop("limit_type", "min")
        resize.pop("limit_side_len", None)
        self._read = _reader(ops)
        self._resize = det.DetResizeForTest(limit_side_len=limit_side_len or side, limit_type=limit_type or kind,
                                            input_shape=None, **resize)
        self._normalize = det.NormalizeImage(**ops.get("NormalizeImage", {}))
        self._to_chw, self._to_batch = vision.ToCHWImage(), vision.ToBatch()
        # PaddleX's per-channel factors, as the float32 its in-place arithmetic turns them into.
        self._alpha = [np.float32(a) for a in self._normalize.alpha]
        self._beta = [np.float32(b) for b in self._normalize.beta]
        if post.get("name") != "DBPostProcess":
            raise ValueError(f"{folder}: inference.yml names {post.get('name')!r}, not DBPostProcess")
        self._post = det.DBPostProcess(
            **_thresholds(post, thresh, box_thresh, unclip_ratio),
            max_candidates=post.get("max_candidates", 1000), use_dilation=post.get("use_dilation", False),
            score_mode=post.get("score_mode", "fast"), box_type=post.get("box_type", "quad"))
        self._max_side_limit = max_side_limit
        self._large_input_pixels = large_input_pixels  # `pipeline.ocr.large_inputs`
        self._model = _OnnxModel(folder, session, varying_shapes=True)

    def detect(self, image: np.ndarray, max_side_limit: int | None = None, unclip_ratio: float | None = None) -> Any:
        images, shapes = self._resize(imgs=[self._read(image)], limit_side_len=None, limit_type=None,
                                      max_side_limit=self._max_side_limit if max_side_limit is None else max_side_limit)
        batch = self._batch(images[0])
        del images  # the resized page, copied into the batch: not held through the run
        with large_run(batch.shape[2] * batch.shape[3], self._large_input_pixels) as options:
            maps = self._model.run(batch, options)
        del batch
        polys, _scores = self._post(maps, shapes, thresh=None, box_thresh=None, unclip_ratio=unclip_ratio)
        return polys[0]  # type: ignore[no-any-return]

    def _batch(self, image: np.ndarray) -> np.ndarray:
        """PaddleX's NormalizeImage, ToCHWImage and ToBatch of one resized page, written straight into
        the model's input: the same float32 arithmetic channel by channel (so the same bits), without
        the merged, transposed and stacked copies in between (less than half the time)."""
        if self._normalize.order != "hwc" or image.ndim != 3 or image.shape[2] != 3:
            return self._to_batch(imgs=self._to_chw(imgs=self._normalize(imgs=[image])))[0]  # type: ignore[no-any-return]
        import cv2

        batch = np.empty((1, 3, *image.shape[:2]), dtype=np.float32)
        for channel, plane in enumerate(cv2.split(image)):
            out = batch[0, channel]
            out[...] = plane
            out *= self._alpha[channel]
            out += self._beta[channel]
        return batch


class TextRecognizer:
    """PaddleX's text recognition predictor on ONNX Runtime: `recognize(crops)` -> (text, score) each."""

    def __init__(self, folder: str | Path, session: SessionSettings, *, width_bucket: int = 0) -> None:
        """`width_bucket`: pad each crop's input width (after the resize to the model's height) up to
        a multiple of this many pixels with the zeros PaddleX's batching pads with; 0: no padding."""
        rec = paddlex_part(_REC)
        folder = Path(folder)
        _name, ops, post = _model_config(folder)
        if post.get("name") != "CTCLabelDecode":
            raise ValueError(f"{folder}: inference.yml names {post.get('name')!r}, not CTCLabelDecode")
        self._read = _reader(ops)
        self._validate = rec.validate_text_rec_image_array
        resize = rec.OCRReisizeNormImg(rec_image_shape=ops["RecResizeImg"]["image_shape"], input_shape=None)
        self._channels, self._height, self._min_width = (int(v) for v in resize.rec_image_shape)
        self._max_width = int(resize.max_imgW)
        self._bucket = width_bucket
        self._ctc = rec.CTCLabelDecode(character_list=post.get("character_dict"))
        self._model = _OnnxModel(folder, session)

    def recognize(self, crops: list[np.ndarray], batch_size: int = 1) -> list[tuple[str, float]]:
        """Text and score of each crop, `batch_size` crops per model call, in the order given."""
        out: list[tuple[str, float]] = []
        for start in range(0, len(crops), batch_size):
            images = [self._read(crop) for crop in crops[start : start + batch_size]]
            for i, image in enumerate(images):
                self._validate(image, index=i)
            out += self._decode(self._model.run(self._batch(images))[0])
        return out

    def _resized(self, image: np.ndarray) -> tuple[np.ndarray, int]:
        """PaddleX's OCRReisizeNormImg resize: the crop at the model's height, and the width of its
        input (at least the model's own, the crop padded on the right with zeros)."""
        if image.ndim != 3 or image.shape[2] != self._channels:
            raise ValueError(f"text recognition expects {self._channels}-channel crops, got shape {image.shape}")
        import cv2

        height, width = image.shape[:2]
        input_width = int(self._height * max(self._min_width / self._height, width * 1.0 / height))
        if input_width > self._max_width:
            return cv2.resize(image, (self._max_width, self._height)), self._max_width
        resized_width = min(input_width, math.ceil(self._height * (width / float(height))))
        return cv2.resize(image, (resized_width, self._height)), input_width

    def model_input(self, crops: list[np.ndarray]) -> np.ndarray:
        """What `recognize` feeds the model for `crops` (BGR) in one call (`pipeline.tools.quantize`
        calibrates on it)."""
        return self._batch([self._read(crop) for crop in crops])

    def _batch(self, images: list[np.ndarray]) -> np.ndarray:
        """PaddleX's OCRReisizeNormImg and ToBatch of `images`, written straight into the model's
        input: the same float32 arithmetic ((x / 255 - 0.5) / 0.5) channel by channel, so the same
        bits, without the transposed, padded and stacked copies in between."""
        import cv2

        resized = [self._resized(image) for image in images]
        widths = [-(-width // self._bucket) * self._bucket if self._bucket else width for _, width in resized]
        batch = np.zeros((len(images), self._channels, self._height, max(widths)), dtype=np.float32)
        for item, (pixels, _width) in enumerate(resized):
            for channel, plane in enumerate(cv2.split(pixels)):
                out = batch[item, channel, :, : pixels.shape[1]]
                out[...] = plane
                out /= 255
                out -= 0.5
                out /= 0.5
        return batch

    def _decode(self, probabilities: np.ndarray) -> list[tuple[str, float]]:
        """PaddleX's CTCLabelDecode of the model's output (crops x steps x characters): the best
        character of each step and its probability, read once (PaddleX copies the output, then
        reads it twice)."""
        best = probabilities.argmax(axis=-1)
        scores = np.take_along_axis(probabilities, best[..., None], axis=-1)[..., 0]
        return [(str(text), float(score)) for text, score in self._ctc.decode(best, scores, is_remove_duplicate=True)]


def import_processors() -> None:
    """Import every PaddleX module the predictors use (a forkserver does it once for all workers)."""
    for name in (_DET, _REC, _VISION, _SORT, _CROP):
        paddlex_part(name)


def whole_pixel_shift(points: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x, y, width, height) of the image area that PaddleX's crop of the box `points` (its four
    corners, in its order) copies pixel for pixel, or None when its warp does more than shift the
    image by whole pixels (a turned or scaled box)."""
    import cv2

    # As PaddleX's get_rotate_crop_image: the crop's size and the transform onto it.
    width = int(max(np.linalg.norm(points[0] - points[1]), np.linalg.norm(points[2] - points[3])))
    height = int(max(np.linalg.norm(points[0] - points[3]), np.linalg.norm(points[1] - points[2])))
    target = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    matrix = cv2.getPerspectiveTransform(np.asarray(points, dtype=np.float32), target)
    shift = np.round(matrix[:2, 2])
    exact = 1e-9  # at whole-pixel positions its cubic kernel weighs the pixel itself 1, the others 0
    if (np.abs(matrix[:2, :2] - np.eye(2)).max() > exact or np.abs(matrix[2] - (0, 0, 1)).max() > exact
            or np.abs(matrix[:2, 2] - shift).max() > exact or width <= 0 or height <= 0):
        return None
    return -int(shift[0]), -int(shift[1]), width, height


def _copied(img: np.ndarray, area: tuple[int, int, int, int]) -> np.ndarray:
    """The pixels of `area` (x, y, width, height) as PaddleX's warp gives them: its border
    replicated outside the image (BORDER_REPLICATE), a crop 1.5 times taller than wide turned."""
    x, y, width, height = area
    if x >= 0 and y >= 0 and x + width <= img.shape[1] and y + height <= img.shape[0]:
        crop = img[y : y + height, x : x + width]
    else:
        rows = np.clip(np.arange(y, y + height), 0, img.shape[0] - 1)
        crop = img[rows][:, np.clip(np.arange(x, x + width), 0, img.shape[1] - 1)]
    return np.rot90(crop) if crop.shape[0] / crop.shape[1] >= 1.5 else crop


def _crop_by_polys() -> Any:
    """PaddleX's crop of each quad box, which warps every box with a cubic kernel (3 ms for a line of
    a 300-dpi scan). Where the warp only shifts the image by whole pixels (an upright box: 60% of
    the bench pages' lines), the pixels are copied instead: the same bytes (tests/test_predictors.py)."""
    crop = paddlex_part(_CROP).CropByPolys(det_box_type="quad")
    warp = crop.get_rotate_crop_image

    def get_rotate_crop_image(img: np.ndarray, points: np.ndarray) -> np.ndarray:
        area = whole_pixel_shift(points)
        return warp(img, points) if area is None else _copied(img, area)

    crop.get_rotate_crop_image = get_rotate_crop_image  # what its get_minarea_rect_crop calls, per box
    return crop


def box_tools() -> tuple[Any, Any]:
    """PaddleX's reading-order sort of quad boxes and its crop of each box (as PaddleOCR's pipeline)."""
    return paddlex_part(_SORT).SortQuadBoxes(), _crop_by_polys()
