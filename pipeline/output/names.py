"""File names that are not valid Unicode, written into UTF-8 outputs.

On POSIX a file name is bytes. Python decodes the bytes that are not UTF-8 to lone surrogates
U+DC80..U+DCFF (PEP 383), and `os.fsencode` turns those back into the same bytes; on Windows a
name may hold a lone surrogate itself. UTF-8 cannot encode one, so every writer of names escapes
them, one-to-one and in a form that no name took before (so every existing key stays as it is):

* JSON (jsonl records, the key base, the watch ledger): the JSON escape ``\\udce9``, which
  `json.loads` reads back to the same string (`json_text`);
* errors.tsv: ``\\udce9`` beside the backslash escapes it already has (`escape_tsv`; a row of
  ours never held ``\\u`` before);
* results.csv: a cell of such a name starts with a tab, then the name escaped as in errors.tsv
  (`pipeline.output.cells.name_cell`): no other cell of ours starts with a tab;
* text nobody reads back (hOCR ``<title>``, error messages): ``\\udce9`` (`readable`).

Example::

    >>> json_text({"image": os.fsdecode(b"caf\\xe9.png")})
    '{"image": "caf\\\\udce9.png"}'
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["escape_tsv", "has_surrogates", "json_text", "readable", "unescape_tsv"]

_SURROGATE = re.compile("[\ud800-\udfff]")
_TSV_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_TSV_UNESCAPES = {v[1]: k for k, v in _TSV_ESCAPES.items()}
_TSV_SPECIAL = re.compile("[\\\\\t\n\r\ud800-\udfff]")
_TSV_ESCAPE = re.compile(r"\\(?:u(d[89a-f][0-9a-f]{2})|(.?))", re.DOTALL)


def has_surrogates(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def _code(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def readable(text: str) -> str:
    """`text` with each lone surrogate as ``\\udcXX``: for text that is shown, never read back."""
    return _SURROGATE.sub(_code, text)


def json_text(obj: Any) -> str:
    """`json.dumps(obj, ensure_ascii=False)` that UTF-8 can always encode: a lone surrogate (which
    can only stand inside a JSON string) becomes its ``\\uXXXX`` escape; all else is unchanged."""
    return readable(json.dumps(obj, ensure_ascii=False))


def escape_tsv(field: str) -> str:
    """Backslash-escape tab, newline, CR and backslash, so one row is always one physical line
    (file names may hold any of them) while quotes and spaces stay as they are; a lone surrogate
    becomes ``\\udcXX``."""
    return _TSV_SPECIAL.sub(lambda m: _TSV_ESCAPES.get(m.group()) or _code(m), field)


def unescape_tsv(field: str) -> str:
    """Undo `escape_tsv`; ValueError for a malformed escape."""

    def one(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return chr(int(match.group(1), 16))
        code = match.group(2)
        if code not in _TSV_UNESCAPES:
            raise ValueError(f"bad escape {match.group()!r} in {field!r}")
        return _TSV_UNESCAPES[code]

    return _TSV_ESCAPE.sub(one, field)
