"""Spreadsheet formula injection: a cell that starts with `=`, `+`, `-`, `@`, tab or CR runs as a
formula when results.csv or errors.tsv is opened in a spreadsheet (a file named
`=HYPERLINK(...).png`, or recognized text). OWASP's advice: prefix such a cell with `'`.

To stay reversible (resume reads the keys back), a cell made of quotes followed by one of those
characters gets one more quote too; `restore_cell` strips exactly one.

>>> neutralise_cell("=1+2"), restore_cell("'=1+2")
("'=1+2", '=1+2')
"""

from __future__ import annotations

import re

__all__ = ["neutralise_cell", "restore_cell"]

_FORMULA = re.compile(r"'*[=+\-@\t\r]")
_NEUTRALISED = re.compile(r"'+[=+\-@\t\r]")


def neutralise_cell(value: str) -> str:
    return "'" + value if _FORMULA.match(value) else value


def restore_cell(value: str) -> str:
    return value[1:] if _NEUTRALISED.match(value) else value
