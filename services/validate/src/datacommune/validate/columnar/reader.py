"""How the columnar engine reads a CSV: pyarrow, in batches of text columns, exactly where it
reads the records as frictionless's csv reader does (else ``Unsupported``)."""

import contextlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from frictionless import formats
from frictionless.resources import TableResource

from datacommune.validate.columnar.order import Unsupported
from datacommune.validate.reading.records import MAX_RECORD_BYTES, Records

# pyarrow's memory for the batches: jemalloc, which gives freed blocks back sooner than
# mimalloc (pyarrow's default) when batches are made in one thread and freed in another —
# 30 to 50 MiB less peak RSS on a 200 MiB file at the same speed (docs/validation.md).
# An operator's ARROW_DEFAULT_MEMORY_POOL is left to decide; a pyarrow built without jemalloc
# keeps its default.
if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
    with contextlib.suppress(NotImplementedError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())

# Batches of this many bytes: a record (at most MAX_RECORD_BYTES) must fit in one. Measured on a
# 120 MB file: 2 MiB blocks read as fast as 4 MiB ones for 70 MB less peak memory.
BLOCK_BYTES = 2 * MAX_RECORD_BYTES


def csv_control(resource: TableResource) -> formats.CsvControl:
    control = resource.dialect.get_control("csv")
    if not isinstance(control, formats.CsvControl):
        raise Unsupported("no CSV dialect")
    return control


def supported(resource: TableResource, records: Records) -> None:
    """Raise ``Unsupported`` unless pyarrow reads the records as frictionless's csv reader."""
    control = csv_control(resource)
    if control.quote_char != '"' or control.escape_char or control.skip_initial_space:
        raise Unsupported("a CSV dialect with other quoting or spacing")
    if not control.double_quote:
        raise Unsupported("a CSV dialect without doubled quotes")
    dialect = resource.dialect
    if dialect.header_rows != [1] or dialect.comment_char or dialect.comment_rows:
        raise Unsupported("a header elsewhere than the first row, or comments")
    if control.delimiter != records.delimiter:
        # The scan's record widths hold for its own delimiter only.
        raise Unsupported("frictionless sniffed another delimiter than the records scan's")
    if resource.schema.foreign_keys:
        raise Unsupported("foreign keys")
    if any(w < 0 for w in records.odd_widths):
        raise Unsupported("a last record whose quote never closes")


def batches(
    path: Path, resource: TableResource, width: int, skip: Callable[[Any], str]
) -> Iterator[pa.RecordBatch]:
    first = True
    for batch in text_batches(path, csv_control(resource).delimiter, width, skip):
        if first:
            batch, first = batch.slice(1), False  # the header
        yield batch


def text_batches(
    path: Path, delimiter: str, width: int, skip: Callable[[Any], object]
) -> Iterator[pa.RecordBatch]:
    """The records of a UTF-8 CSV (header included) in batches of ``width`` text columns, read
    as Python's csv module reads them. A record of another width is left out of the batches
    and given to ``skip`` before the batch it was read with.

    The next batch is read in a thread while the caller checks the one before: pyarrow parses
    without holding the GIL, and the checks are pyarrow compute calls that release it too, so
    reading and checking use two cores (one batch more in memory). A file of one block has
    nothing to read ahead: it is read in the caller's thread (a thread started for each small
    file the hub checks costs more than reading it)."""
    names = [f"c{i}" for i in range(width)]
    set_aside: list[Any] = []

    def aside(row: Any) -> str:
        set_aside.append(row)
        return "skip"

    def read_next(reader: pacsv.CSVStreamingReader) -> tuple[pa.RecordBatch | None, list[Any]]:
        # Runs in the reading thread, as does ``aside`` while it reads: the records set aside
        # are taken with the batch they were read with.
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            batch = None
        # Taken by count, so that a record pyarrow might set aside meanwhile (it calls the
        # handler from its own threads) stays for the next batch rather than being lost.
        taken = len(set_aside)
        rows = set_aside[:taken]
        del set_aside[:taken]
        return batch, rows

    one_block = path.stat().st_size <= BLOCK_BYTES
    # Given a path, pyarrow reads the file ahead of the batches taken (a 120 MB file held 84 MB
    # of its memory pool at once); given a Python file, one block at a time (11 MB).
    with path.open("rb") as source, contextlib.ExitStack() as stack:
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(
                column_names=names, block_size=BLOCK_BYTES, use_threads=False
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=aside,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        ahead = None if one_block else stack.enter_context(ThreadPoolExecutor(1, "csv-reader"))

        def read_ahead() -> Callable[[], tuple[pa.RecordBatch | None, list[Any]]]:
            if ahead is None:
                done = read_next(reader)
                return lambda: done
            return ahead.submit(read_next, reader).result

        pending = read_ahead()
        while True:
            batch, rows = pending()
            if batch is not None:
                pending = read_ahead()
            for row in rows:
                skip(row)
            if batch is None:
                return
            yield batch
