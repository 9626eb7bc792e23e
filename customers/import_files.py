"""Reading uploaded spreadsheets: CSV (any common encoding and delimiter) and Excel .xlsx.

`inspect_upload` checks a file once, when it is uploaded, and says how to read it (a
`FileFormat`), what its columns are and how many rows it has. `read_rows` then yields its data
rows as lists of strings, with the row number a person sees in a spreadsheet program. Every
problem with the file itself is an `ImportFileError` whose message is meant for the person who
uploaded it.
"""

import codecs
import contextlib
import csv
import io
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import islice
from typing import IO
from xml.parsers import expat

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CSV_EXTENSIONS = {"csv", "txt", "tsv"}
XLSX_EXTENSIONS = {"xlsx", "xlsm"}
DELIMITERS = (",", ";", "\t", "|")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # Excel 97-2003 .xls
_SAMPLE = 64 * 1024
SAMPLE_ROWS = 20  # kept at upload for the preview
_NUMBERISH = re.compile(r"^[\d\s.,:/+-]+$")
_EMAILISH = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ImportFileError(ValidationError):
    """The file cannot be imported; the message says why, for the person who uploaded it."""


@dataclass(frozen=True)
class FileFormat:
    kind: str  # "csv" or "xlsx"
    encoding: str = ""
    delimiter: str = ""

    def as_json(self) -> dict:
        return {"kind": self.kind, "encoding": self.encoding, "delimiter": self.delimiter}

    @classmethod
    def from_json(cls, data: dict) -> "FileFormat":
        return cls(
            kind=data.get("kind", "csv"),
            encoding=data.get("encoding", ""),
            delimiter=data.get("delimiter", ""),
        )


@dataclass
class Inspection:
    format: FileFormat
    headers: list[str]
    total_rows: int
    samples: list[list] = field(default_factory=list)  # [row number, cells] of the first rows


def extension_of(file_name: str) -> str:
    return file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""


def check_upload_name(file_name: str) -> str:
    """The file's kind ("csv" or "xlsx") from its name, or an error naming what is accepted."""
    extension = extension_of(file_name)
    if extension == "xls":
        raise ImportFileError(
            _("Excel 97-2003 (.xls) files are not supported. Save the file as .xlsx or CSV.")
        )
    if extension in CSV_EXTENSIONS:
        return "csv"
    if extension in XLSX_EXTENSIONS:
        return "xlsx"
    raise ImportFileError(_("Upload a CSV file or an Excel workbook (.xlsx)."))


def inspect_upload(stream: IO[bytes], *, file_name: str, max_rows: int) -> Inspection:
    """Check a stored upload: readable, a header row, at least one and at most `max_rows` rows."""
    kind = check_upload_name(file_name)
    head = stream.read(8)
    stream.seek(0)
    if not head:
        raise ImportFileError(_("The file is empty."))
    if head.startswith(_OLE_MAGIC):
        raise ImportFileError(
            _("Excel 97-2003 (.xls) files are not supported. Save the file as .xlsx or CSV.")
        )
    # Trust the content over the name: a workbook saved as .csv is still a workbook.
    kind = "xlsx" if head.startswith(_ZIP_MAGIC) else kind
    if kind == "xlsx" and not head.startswith(_ZIP_MAGIC):
        raise ImportFileError(_("This file is not a valid Excel workbook (.xlsx)."))
    fmt = FileFormat(kind="xlsx") if kind == "xlsx" else _csv_format(stream.read())
    stream.seek(0)

    rows = _records(stream, fmt)
    headers = _header_row(rows)
    samples = [[number, _fit(cells, len(headers))] for number, cells in islice(rows, SAMPLE_ROWS)]
    if fmt.kind == "xlsx":
        # Reading every cell of a big workbook takes openpyxl many seconds: count its rows from
        # the sheet's XML instead (the import counts again as it reads them).
        rows.close()
        stream.seek(0)
        total = len(samples) and xlsx_row_count(stream) - 1
    else:
        total = len(samples) + sum(1 for _row in rows)
    if total > max_rows:
        raise ImportFileError(too_many_rows(max_rows))
    if total == 0:
        raise ImportFileError(_("The file has a header row but no data rows."))
    return Inspection(format=fmt, headers=headers, total_rows=total, samples=samples)


def too_many_rows(limit: int) -> str:
    return _("The file has more than %(limit)s rows. Split it into smaller files.") % {
        "limit": f"{limit:,}"
    }


def read_rows(stream: IO[bytes], fmt: FileFormat) -> tuple[list[str], Iterator[tuple[int, list]]]:
    """The header row and an iterator of (row number, cells) over the data rows."""
    rows = _records(stream, fmt)
    headers = _header_row(rows)
    width = len(headers)
    return headers, ((number, _fit(cells, width)) for number, cells in rows)


# --- Header row ---------------------------------------------------------------------------


def _header_row(rows: Iterator[tuple[int, list[str]]]) -> list[str]:
    first = next(rows, None)
    if first is None:
        raise ImportFileError(_("The file is empty."))
    _number, cells = first
    while cells and not cells[-1]:
        cells = cells[:-1]
    values = [c for c in cells if c]
    if not values:
        raise ImportFileError(_("The first row must name the columns."))
    if any(_EMAILISH.match(v) for v in values) or all(_NUMBERISH.match(v) for v in values):
        raise ImportFileError(
            _(
                "The first row looks like data, not column names. Add a header row that names "
                "each column (for example Name, Email, Phone)."
            )
        )
    return unique_headers(cells)


def unique_headers(cells: list[str]) -> list[str]:
    """Column names made unique and never blank ("Email", "Email (2)", "Column 4")."""
    headers: list[str] = []
    seen: set[str] = set()
    for index, cell in enumerate(cells, start=1):
        name = " ".join(cell.split())[:100] or _("Column %(number)s") % {"number": index}
        candidate, n = name, 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{name} ({n})"
        seen.add(candidate.lower())
        headers.append(candidate)
    return headers


def _fit(cells: list[str], width: int) -> list[str]:
    if len(cells) < width:
        return cells + [""] * (width - len(cells))
    return cells[:width]


def _records(stream: IO[bytes], fmt: FileFormat) -> Iterator[tuple[int, list[str]]]:
    """Every non-blank record with its spreadsheet row number (the header row is row 1)."""
    source = _xlsx_records(stream) if fmt.kind == "xlsx" else _csv_records(stream, fmt)
    for number, cells in source:
        if any(cells):
            yield number, cells


# --- CSV ----------------------------------------------------------------------------------


def _csv_format(data: bytes) -> FileFormat:
    encoding = detect_encoding(data)
    text = data[:_SAMPLE].decode(encoding, errors="replace")
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(DELIMITERS, key=first_line.count) if first_line else ","
    if first_line.count(delimiter) == 0:
        delimiter = ","
    return FileFormat(kind="csv", encoding=encoding, delimiter=delimiter)


def detect_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16, GB18030 (Chinese Excel) or Windows-1252.

    Raises ImportFileError when none reads the file, rather than guessing Latin-1, which
    "reads" any bytes and would fill the customer list with mojibake.
    """
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in data[:_SAMPLE]:
        encoding = _utf16_without_bom(data[:_SAMPLE])
    else:
        encoding = _guess_8bit(data)
    try:
        codecs.decode(data, encoding)
    except (UnicodeDecodeError, LookupError):
        raise ImportFileError(_unreadable_message()) from None
    return encoding


def _unreadable_message() -> str:
    return _(
        "The file's text could not be read: it is not UTF-8, GB18030 or Windows-1252 text. "
        "Save it as “CSV UTF-8” and upload it again."
    )


def _utf16_without_bom(sample: bytes) -> str:
    even_zeros = sample[0::2].count(0)
    odd_zeros = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_zeros > half * 0.3 and even_zeros < half * 0.05:
        return "utf-16-le"
    if even_zeros > half * 0.3 and odd_zeros < half * 0.05:
        return "utf-16-be"
    raise ImportFileError(_unreadable_message())  # NUL bytes: a binary file


def _guess_8bit(data: bytes) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    gb = _decodes(data, "gb18030")
    latin = _decodes(data, "cp1252")
    if gb and (not latin or _looks_chinese(data[:_SAMPLE])):
        return "gb18030"
    if latin:
        return "cp1252"
    raise ImportFileError(_unreadable_message())


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _looks_chinese(sample: bytes) -> bool:
    """Chinese text in GBK has both bytes of each character at 0xA1 or above; Latin text read
    as GBK pairs an accented letter with the plain ASCII letter after it."""
    text = sample.decode("gb18030", errors="ignore")
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return False
    paired_high = sum(
        1
        for ch in wide
        if len(encoded := ch.encode("gb18030")) == 2 and encoded[0] >= 0x81 and encoded[1] >= 0x80
    )
    return paired_high / len(wide) >= 0.8


def _csv_records(stream: IO[bytes], fmt: FileFormat) -> Iterator[tuple[int, list[str]]]:
    text = io.TextIOWrapper(stream, encoding=fmt.encoding, newline="")
    reader = csv.reader(text, delimiter=fmt.delimiter or ",")
    number = 0
    try:
        for cells in reader:
            number += 1
            yield number, [c.strip() for c in cells]
    except csv.Error as error:
        raise ImportFileError(
            _("Row %(number)s could not be read (%(problem)s).")
            % {"number": number + 1, "problem": error}
        ) from None
    except UnicodeDecodeError:
        raise ImportFileError(_unreadable_message()) from None
    finally:
        with contextlib.suppress(ValueError):  # the file may be closed already (a preview)
            text.detach()


# --- Excel --------------------------------------------------------------------------------


@contextlib.contextmanager
def _first_sheet(stream: IO[bytes]):
    """The first worksheet of a workbook opened read-only (None if it has none)."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
        raise ImportFileError(_unopenable_message()) from None
    except Exception as error:  # openpyxl raises its own exception types for broken parts
        if type(error).__module__.startswith(("openpyxl", "xml", "defusedxml")):
            raise ImportFileError(_unopenable_message()) from None
        raise
    try:
        yield workbook.worksheets[0] if workbook.worksheets else None
    finally:
        workbook.close()


def _unopenable_message() -> str:
    return _("This Excel workbook could not be opened. Save it again in Excel as .xlsx.")


def _xlsx_records(stream: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    with _first_sheet(stream) as sheet:
        if sheet is None:
            return
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [cell_text(value) for value in values]


def xlsx_row_count(stream: IO[bytes]) -> int:
    """How many rows of the first sheet have a value, from its XML (C-speed parsing)."""
    with _first_sheet(stream) as sheet:
        if sheet is None:
            return 0
        source = sheet._get_source()  # openpyxl has no public way to the sheet's XML
        counter = _RowCounter()
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.StartElementHandler = counter.start
        try:
            parser.ParseFile(source)
        except expat.ExpatError:
            raise ImportFileError(_unopenable_message()) from None
        finally:
            source.close()
        return counter.rows


class _RowCounter:
    """Counts <row> elements holding at least one value (<v>, or an inline string <is>)."""

    def __init__(self) -> None:
        self.rows = 0
        self.counted = True

    def start(self, name: str, attributes: dict) -> None:
        tag = name.rsplit(" ", 1)[-1]
        if tag == "row":
            self.counted = False
        elif tag in ("v", "is") and not self.counted:
            self.rows += 1
            self.counted = True


def spool_as_csv(stream: IO[bytes], fmt: FileFormat) -> tuple[IO[bytes], FileFormat]:
    """A workbook's rows written once to a temporary CSV (blank rows kept, so row numbers
    stay those of the sheet), for imports that read the file more than once. CSV as it is."""
    if fmt.kind != "xlsx":
        return stream, fmt
    spooled = tempfile.TemporaryFile()  # noqa: SIM115 (the caller closes it)
    text = io.TextIOWrapper(spooled, encoding="utf-8", newline="")
    writer = csv.writer(text)
    for _number, cells in _xlsx_records(stream):
        writer.writerow(cells if any(cells) else [])
    text.flush()
    text.detach()
    spooled.seek(0)
    return spooled, FileFormat(kind="csv", encoding="utf-8", delimiter=",")


def cell_text(value) -> str:
    """An Excel cell as the text a person would type: 15550102000, not 1.5550102e10."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value).strip()
