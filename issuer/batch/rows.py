"""Results as a CSV file: one result a row, turned into the result bodies of `POST .../results`.

Columns (a header row names them, in any order; names are case-insensitive):
  external_id    required
  email          the earner's email, or
  recipient_id   the earner's DID (exactly one of the two per row)
  name           optional, the earner's name
  score          required, a number
  completed_at   required, RFC 3339 with a time zone
  evidence_url, evidence_name, evidence_narrative   optional, one evidence item
Empty cells are absent values. Row numbers count the header as row 1.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

REQUIRED = ("external_id", "score", "completed_at")
COLUMNS = (*REQUIRED, "email", "recipient_id", "name", "evidence_url", "evidence_name", "evidence_narrative")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class CsvInvalid(ValueError):
    """The file as a whole cannot be read (its encoding, its header, its quoting); per-row
    problems are not this, they are answered per row."""


class TooManyRows(CsvInvalid):
    pass


@dataclass(frozen=True)
class Rows:
    items: list[dict]  # one result body per row
    rows: list[int]  # the row number of each


def read_results(data: bytes | str, *, max_rows: int | None = None) -> Rows:
    """The result bodies of a CSV file.

    :raise CsvInvalid: not UTF-8, no header, an unknown or missing column, a malformed row, or
        more than `max_rows` rows (`TooManyRows`).
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise CsvInvalid(f"the file is not UTF-8 text (byte {error.start})") from None
    reader = csv.reader(io.StringIO(data, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise CsvInvalid("the file is empty; its first row names the columns: " + ", ".join(COLUMNS))
        columns = [name.strip().lower() for name in header]
        unknown = [name for name in columns if name not in COLUMNS]
        if unknown:
            raise CsvInvalid(f"row 1: unknown column {unknown[0]!r}; the columns are: {', '.join(COLUMNS)}")
        missing = [name for name in REQUIRED if name not in columns]
        if "email" not in columns and "recipient_id" not in columns:
            missing.append("email (or recipient_id)")
        if missing:
            raise CsvInvalid(f"row 1: missing column {missing[0]!r}")
        if len(set(columns)) != len(columns):
            raise CsvInvalid("row 1: a column is named twice")
        items, rows = [], []
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            if len(cells) != len(columns):
                raise CsvInvalid(f"row {number}: {len(cells)} cells, but the header names {len(columns)} columns")
            if max_rows is not None and len(items) == max_rows:
                raise TooManyRows(f"more than {max_rows:,} rows")
            items.append(_result_body(dict(zip(columns, cells))))
            rows.append(number)
    except csv.Error as error:
        raise CsvInvalid(f"row {reader.line_num}: {error}") from None
    return Rows(items, rows)


def _result_body(cells: dict[str, str]) -> dict:
    value = {name: cell.strip() for name, cell in cells.items() if cell.strip()}
    recipient = {key: value[column] for key, column in (("email", "email"), ("id", "recipient_id"), ("name", "name"))
                 if column in value}
    body = {"recipient": recipient}
    for column in ("external_id", "completed_at"):
        if column in value:
            body[column] = value[column]
    if "score" in value:
        body["score"] = _number(value["score"])
    evidence = {key: value[column] for key, column in
                (("id", "evidence_url"), ("name", "evidence_name"), ("narrative", "evidence_narrative"))
                if column in value}
    if evidence:
        body["evidence"] = [evidence]
    return body


def _number(text: str):
    """A number as JSON would carry it; anything else stays text, which the score check refuses."""
    if not _NUMBER.fullmatch(text):
        return text
    return int(text) if text.lstrip("+-").isdigit() else float(text)
