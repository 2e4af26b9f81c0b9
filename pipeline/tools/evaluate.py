"""`python -m pipeline eval LABELS.jsonl RESULTS.jsonl`: how far the pipeline's text is from ground truth.

LABELS.jsonl holds one `{"image": ..., "text": ...}` object per line (an optional `page`, default 0);
RESULTS.jsonl is the output of `pipeline run` over the labels' folder, so `image` paths match.
Both texts are folded with Unicode NFKC (full-width and half-width forms alike) before scoring.

- CER: character edit distance over the reference's characters, whitespace ignored (a lost space
  between words is not counted; the word scores see it).
- WER: word edit distance over the reference's words (words = whitespace-separated tokens).
- Word-bag F1: the words as a multiset, order ignored: a page whose words are right but in the
  wrong order (interleaved columns) scores high here and low on CER.
- Order-free CER: the characters as a multiset (whitespace ignored), over the reference's
  characters: the least edit distance any order of the output's characters could reach. CER minus
  it is the reading-order error.
- Full-width Latin letters and digits (U+FF10-FF19, U+FF21-FF3A, U+FF41-FF5A) in the output, counted
  before folding (NFKC folds them, so the scores above cannot see them).
All three are summed over the images (micro-averaged). Edit distances come from rapidfuzz.

A labelled image with no result, or with an error record, counts as empty output.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from rapidfuzz.distance import Levenshtein

__all__ = ["ImageScore", "Report", "evaluate", "evaluate_files", "format_report", "read_jsonl"]

Key = tuple[str, int]  # (image, page)


@dataclass(frozen=True)
class ImageScore:
    image: str
    page: int
    char_errors: int
    chars: int
    word_errors: int
    words: int
    bag_common: int  # words found in both, counted as a multiset
    bag_got: int  # words in the output
    empty: bool  # the output is empty where the reference has text
    missing: bool  # no ok record for this image
    order_free_errors: int = 0  # character errors with order ignored (multisets)
    fullwidth: int = 0  # full-width Latin letters and digits in the raw output

    @property
    def cer(self) -> float:
        return self.char_errors / self.chars if self.chars else float(self.char_errors > 0)

    @property
    def order_free_cer(self) -> float:
        return self.order_free_errors / self.chars if self.chars else float(self.order_free_errors > 0)


@dataclass
class Report:
    images: int = 0
    char_errors: int = 0
    chars: int = 0
    word_errors: int = 0
    words: int = 0
    bag_common: int = 0
    bag_got: int = 0
    exact: int = 0  # images whose text matches the reference (whitespace ignored)
    empty: int = 0
    missing: int = 0
    unlabelled: int = 0  # result records with no label (not scored)
    order_free_errors: int = 0
    fullwidth: int = 0
    scores: list[ImageScore] = field(default_factory=list)

    @property
    def cer(self) -> float:
        return self.char_errors / self.chars if self.chars else 0.0

    @property
    def order_free_cer(self) -> float:
        return self.order_free_errors / self.chars if self.chars else 0.0

    @property
    def wer(self) -> float:
        return self.word_errors / self.words if self.words else 0.0

    @property
    def word_f1(self) -> float:
        total = self.bag_got + self.words
        return 2 * self.bag_common / total if total else 1.0

    def worst(self, count: int = 10) -> list[ImageScore]:
        """The images with the highest CER (most errors first among equals)."""
        return sorted(self.scores, key=lambda s: (-s.cer, -s.char_errors, s.image, s.page))[:count]

    def to_json(self, worst: int = 10) -> dict[str, Any]:
        return {
            "images": self.images,
            "cer": round(self.cer, 6),
            "order_free_cer": round(self.order_free_cer, 6),
            "order_error": round(self.cer - self.order_free_cer, 6),
            "wer": round(self.wer, 6),
            "word_f1": round(self.word_f1, 6),
            "char_errors": self.char_errors,
            "chars": self.chars,
            "word_errors": self.word_errors,
            "words": self.words,
            "exact": self.exact,
            "empty": self.empty,
            "missing": self.missing,
            "unlabelled": self.unlabelled,
            "order_free_errors": self.order_free_errors,
            "fullwidth_latin": self.fullwidth,
            "worst": [{**asdict(s), "cer": round(s.cer, 6)} for s in self.worst(worst)],
        }


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _chars(text: str) -> str:
    return "".join(text.split())


def _fullwidth(text: str) -> int:
    return sum(1 for ch in text
               if "\uff10" <= ch <= "\uff19" or "\uff21" <= ch <= "\uff3a" or "\uff41" <= ch <= "\uff5a")


def _bag_distance(got: str, want: str) -> int:
    """The least edit distance between any orders of the two strings: pair equal characters, and the
    rest of the longer side are substitutions or insertions / deletions."""
    got_bag, want_bag = Counter(got), Counter(want)
    return max(sum((got_bag - want_bag).values()), sum((want_bag - got_bag).values()))


def score_image(image: str, page: int, got: str, want: str, missing: bool = False,
                unordered: bool = False) -> ImageScore:
    """Scores of one image. `unordered`: the reference lists regions in no reliable order, so
    characters are compared as sorted bags (CER) and lines as a bag (WER)."""
    got_words, want_words = _normal(got).split(), _normal(want).split()
    got_chars, want_chars = _chars(_normal(got)), _chars(_normal(want))
    if unordered:
        got_chars, want_chars = "".join(sorted(got_chars)), "".join(sorted(want_chars))
        got_words, want_words = sorted(got_words), sorted(want_words)
    common = sum((Counter(got_words) & Counter(want_words)).values())
    order_free = _bag_distance(got_chars, want_chars)
    return ImageScore(
        image=image,
        page=page,
        char_errors=Levenshtein.distance(got_chars, want_chars),
        chars=len(want_chars),
        word_errors=Levenshtein.distance(got_words, want_words),
        words=len(want_words),
        bag_common=common,
        bag_got=len(got_words),
        empty=bool(want_chars) and not got_chars,
        missing=missing,
        order_free_errors=order_free,
        fullwidth=_fullwidth(got),
    )


def evaluate(labels: Iterable[dict[str, Any]], results: Iterable[dict[str, Any]],
             unordered: Iterable[str] = ()) -> Report:
    """Score result records against label records; `unordered` names images scored order-free."""
    any_order = set(unordered)
    texts: dict[Key, str | None] = {}  # None: an error record, scored as missing
    for record in results:
        key = (str(record["image"]), int(record.get("page", 0)))
        if record.get("status", "ok") == "ok":
            texts[key] = str(record.get("text") or "")
        else:
            texts.setdefault(key, None)
    report = Report()
    labelled: set[Key] = set()
    for label in labels:
        key = (str(label["image"]), int(label.get("page", 0)))
        labelled.add(key)
        got = texts.get(key)
        score = score_image(key[0], key[1], got or "", str(label["text"]), missing=got is None,
                            unordered=key[0] in any_order)
        report.scores.append(score)
        report.images += 1
        report.char_errors += score.char_errors
        report.chars += score.chars
        report.word_errors += score.word_errors
        report.words += score.words
        report.bag_common += score.bag_common
        report.bag_got += score.bag_got
        report.exact += score.char_errors == 0
        report.empty += score.empty
        report.missing += score.missing
        report.order_free_errors += score.order_free_errors
        report.fullwidth += score.fullwidth
    report.unlabelled = len(texts.keys() - labelled)
    return report


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The objects of a JSONL file; a torn last line (a killed run) is skipped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                return
            raise ValueError(f"{path}:{number}: not a JSON object") from None


def evaluate_files(labels: Path, results: Path, unordered: Iterable[str] = ()) -> Report:
    return evaluate(read_jsonl(labels), read_jsonl(results), unordered)


def format_report(report: Report, worst: int = 10) -> str:
    lines = [
        f"{report.images} images: CER {report.cer:.2%} ({report.char_errors}/{report.chars} characters, "
        f"whitespace ignored), WER {report.wer:.2%} ({report.word_errors}/{report.words} words), "
        f"word-bag F1 {report.word_f1:.3f}",
        f"order-free CER {report.order_free_cer:.2%} ({report.order_free_errors} characters), so reading-order "
        f"error {report.cer - report.order_free_cer:.2%}; full-width Latin letters and digits in the output: "
        f"{report.fullwidth}",
        f"exact {report.exact}/{report.images}, empty output {report.empty}, no result {report.missing}"
        + (f", {report.unlabelled} results without a label" if report.unlabelled else ""),
    ]
    bad = [s for s in report.worst(worst) if s.char_errors or s.word_errors]
    if bad:
        lines.append(f"worst {len(bad)}:")
        width = max(len(s.image) for s in bad)
        for s in bad:
            page = f" p{s.page}" if s.page else ""
            lines.append(f"  {s.image + page:<{width}}  CER {s.cer:7.2%}  {s.char_errors}/{s.chars} chars"
                         + ("  (empty)" if s.empty else "") + ("  (no result)" if s.missing else ""))
    return "\n".join(lines)
