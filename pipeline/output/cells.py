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

from pipeline.output.names import escape_tsv, has_surrogates, unescape_tsv

__all__ = ["name_cell", "neutralise_cell", "restore_cell", "restore_name_cell"]

_FORMULA = re.compile(r"'*[=+\-@\t\r]")
_NEUTRALISED = re.compile(r"'+[=+\-@\t\r]")


def neutralise_cell(value: str) -> str:
    return "'" + value if _FORMULA.match(value) else value


def restore_cell(value: str) -> str:
    return value[1:] if _NEUTRALISED.match(value) else value


def name_cell(name: str) -> str:
    """The csv cell of a file name. A name that is not valid Unicode (`pipeline.output.names`) is a tab,
    then the name escaped as in errors.tsv and neutralised: no other cell starts with a tab."""
    return "\t" + neutralise_cell(escape_tsv(name)) if has_surrogates(name) else neutralise_cell(name)


def restore_name_cell(value: str) -> str:
    """Undo `name_cell`; ValueError for a malformed escape."""
    return unescape_tsv(restore_cell(value[1:])) if value.startswith("\t") else restore_cell(value)
