"""Peer: Python's csv module, csv.writer(...).writerows on typed rows."""

import csv
import time

import _rows

path, count, out, _ = _rows.args()
header, rows = _rows.load(path, count, aware=True)
load_rss = _rows.peak_rss_kb()
started = time.perf_counter()
with open(out, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(header)
    w.writerows(rows)
elapsed = time.perf_counter() - started
_rows.report(elapsed, count, out, load_rss)
