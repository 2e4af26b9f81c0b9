"""The output formats, in one registry: each format names its sink (how records are written), its
resume reader (which pages an existing output already holds), its default output name, whether its
output is a folder, and the files it keeps with the output (the lock, the stored key base).

The command line's `--format` choices, config validation, the run's writer and resume all read
`FORMATS`, so a new format is one entry here.

Example::

    done = completed_pages(Path("results.csv"), "csv")
    with OrderedWriter(open_sink("csv", Path("results.csv"), append=True)) as writer:
        writer.put(0, record)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from pipeline.errors import ConfigError
from pipeline.output.base import ERRORS_TSV, Sink
from pipeline.output.csv import CsvSink
from pipeline.output.hocr import HocrSink
from pipeline.output.jsonl import JsonlSink
from pipeline.output.paths import refuse_symlink, shown
from pipeline.output.resume import Completed, read_csv, read_jsonl, read_page_files, read_txt
from pipeline.output.txt import TxtSink

if TYPE_CHECKING:
    from pipeline.output.context import SinkContext

__all__ = ["FORMATS", "OutputFormat", "beside", "completed_pages", "open_sink", "output_format"]

# A folder output keeps its lock and its key base inside itself; a file output keeps them beside it.
FOLDER_LOCK_NAME = ".pipeline.lock"
FOLDER_KEYS_NAME = ".pipeline-keys.json"


def beside(output: Path, suffix: str) -> Path:
    """The file next to `output` named after it: `results.jsonl` -> `results.jsonl<suffix>`."""
    return output.with_name(output.name + suffix)


@dataclass(frozen=True)
class OutputFormat:
    name: str
    default_output: str  # used when neither -o nor the config's `output` names one
    sink: Callable[[Path, bool, SinkContext | None], Sink]  # (output, append, the run's inputs) -> an open sink
    completed: Callable[[Path, bool], Completed]  # (existing output, retry_errors) -> pages done
    folder: bool  # the output is a folder (files per page or per input, and errors.tsv), not one file
    # Formats with one output file per input file: (output, images) makes those files redone whole
    # (an input whose pages are not the pages its output file holds, e.g. a PDF replaced by a longer one).
    forget: Callable[[Path, set[str]], None] | None = None

    def lock_path(self, output: Path) -> Path:
        """The lock a run holds on `output` (`pipeline.output.lock`)."""
        return output / FOLDER_LOCK_NAME if self.folder else beside(output, ".lock")

    def keys_path(self, output: Path) -> Path:
        """Where `output`'s key base is stored (`pipeline.output.keybase`)."""
        return output / FOLDER_KEYS_NAME if self.folder else beside(output, ".keys.json")

    def check_output(self, output: Path) -> None:
        """ConfigError unless `output` can be this format's output: a folder or a file as the format
        writes, never a symlink, nor a symlinked errors.tsv (a resume would truncate its target)."""
        if self.folder:
            if output.exists() and not output.is_dir():
                raise ConfigError(f"the {self.name} format writes into a folder, but output {shown(output)} is a file")
            refuse_symlink(output / ERRORS_TSV)
        else:
            refuse_symlink(output)
            if output.is_dir():
                raise ConfigError(f"output {shown(output)} is a folder; the {self.name} format writes a single file")


def _records_only(cls: Callable[[Path, bool], Sink]) -> Callable[[Path, bool, SinkContext | None], Sink]:
    """A sink that needs nothing but the records."""
    return lambda output, append, _context: cls(output, append)


# The pdf format needs PDFium, numpy and Pillow: imported when used, so that this registry (read by
# the config and the command line) stays light.
def _pdf_sink(output: Path, append: bool, context: SinkContext | None) -> Sink:
    from pipeline.output.pdf import PdfSink

    return PdfSink(output, append, context)


def _read_pdf(output: Path, retry_errors: bool) -> Completed:
    from pipeline.output.pdf import read_pdf_folder

    return read_pdf_folder(output, retry_errors)


def _forget_pdf(output: Path, images: set[str]) -> None:
    from pipeline.output.pdf import forget_files

    forget_files(output, images)


FORMATS: dict[str, OutputFormat] = {
    fmt.name: fmt
    for fmt in (
        # One JSON object per line (docs/design.md, "Output contract").
        OutputFormat("jsonl", "results.jsonl", _records_only(JsonlSink), read_jsonl, folder=False),
        # The same fields as columns; `lines` holds the JSON of the lines list.
        OutputFormat("csv", "results.csv", _records_only(CsvSink), read_csv, folder=False),
        # A folder mirroring the input tree, one .txt per page, and errors.tsv.
        OutputFormat("txt", "results", _records_only(TxtSink), read_txt, folder=True),
        # The same, one hOCR file per page (line boxes and confidences).
        OutputFormat("hocr", "results-hocr", HocrSink, read_page_files(".hocr"), folder=True),
        # A folder mirroring the input tree, one searchable PDF per input file, and errors.tsv.
        OutputFormat("pdf", "results-pdf", _pdf_sink, _read_pdf, folder=True, forget=_forget_pdf),
    )
}


def output_format(name: str) -> OutputFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown output format {name!r} (known: {', '.join(FORMATS)})") from None


def open_sink(fmt: str, output: Path, append: bool, context: SinkContext | None = None) -> Sink:
    """The sink for `fmt` writing to `output` (a file, or a folder for txt). `append=True` continues
    an existing output (after `completed_pages` has repaired it); `append=False` starts afresh.
    `context` (`pipeline.run.runner.sink_context`) tells the hocr and pdf sinks where the input files are."""
    return output_format(fmt).sink(Path(output), append, context)


def completed_pages(output: Path, fmt: str, retry_errors: bool = False) -> Completed:
    """(image, page) keys whose records are complete in an existing output; repairs a torn tail in place.

    Error records count as complete (they are not redone) unless `retry_errors`, in which case they
    are left out of the result and removed from the output (atomically, via a temporary file and
    `os.replace`), so the rerun's new records for those pages don't duplicate them. A missing
    output gives an empty set. Raises `ResumeError` for damage before the last record. The result's
    `errors` are the keys of the error records the output keeps.
    """
    reader = output_format(fmt).completed
    output = Path(output)
    return reader(output, retry_errors) if output.exists() else Completed()
