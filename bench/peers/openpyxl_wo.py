"""Peer: openpyxl write_only workbook, ws.append per row (dates get
openpyxl's date formats). The optional 4th argument sets the zip deflate
level (default: zlib's 6)."""

import time

import openpyxl
import openpyxl.writer.excel

import _rows

path, count, out, level = _rows.args()
_rows.patch_zip_level(openpyxl.writer.excel, level)
header, rows = _rows.load(path, count, aware=False)
load_rss = _rows.peak_rss_kb()
started = time.perf_counter()
wb = openpyxl.Workbook(write_only=True)
ws = wb.create_sheet("Export 1")
ws.freeze_panes = "A2"
ws.auto_filter.ref = f"A1:K{len(rows) + 1}"
ws.append(header)
for row in rows:
    ws.append(row)
wb.save(out)
elapsed = time.perf_counter() - started
_rows.report(elapsed, count, out, load_rss)
