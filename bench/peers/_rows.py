"""Shared by the peer scripts: loads the benchmark rows (written once by
`exports-bench gen`) as typed Python values, and prints the report line the
benchmark parent reads. Loading is not timed; only the write is."""

import csv
import datetime as dt
import json
import resource
import sys

# Column types, in file order (see bench/src/rows.rs SCHEMA).
TYPES = ["s", "s", "s", "s", "s", "n", "n", "d", "t", "b", "s"]


def _conv(kind, cell, aware):
    if kind == "s":
        return cell
    if kind == "n":
        return float(cell)
    if kind == "b":
        return cell == "true"
    if kind == "d":
        return dt.date.fromisoformat(cell)
    value = dt.datetime.fromisoformat(cell)
    # Excel has no time zones: XLSX writers get the naive UTC wall time.
    return value if aware else value.replace(tzinfo=None)


def load(path, count, aware):
    """(header, rows) with the first `count` rows as tuples of typed values."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = []
        for record in reader:
            if len(rows) == count:
                break
            rows.append(tuple(_conv(k, c, aware) for k, c in zip(TYPES, record)))
    if len(rows) < count:
        sys.exit(f"{path} holds {len(rows)} rows, {count} needed")
    return header, rows


def peak_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def report(seconds, rows, out_path, load_rss_kb):
    import os

    print(json.dumps({
        "seconds": seconds,
        "rows": rows,
        "bytes": os.path.getsize(out_path),
        "load_rss_kb": load_rss_kb,
    }))


def args():
    """ROWS_FILE COUNT OUT [ZIP_LEVEL]"""
    if len(sys.argv) not in (4, 5):
        sys.exit(f"usage: {sys.argv[0]} ROWS_FILE COUNT OUT [ZIP_LEVEL]")
    level = int(sys.argv[4]) if len(sys.argv) == 5 else None
    return sys.argv[1], int(sys.argv[2]), sys.argv[3], level


def patch_zip_level(module, level):
    """Makes `module`'s ZipFile deflate at `level` (None: zlib's default, 6)."""
    if level is None:
        return
    import functools
    import zipfile

    module.ZipFile = functools.partial(zipfile.ZipFile, compresslevel=level)
