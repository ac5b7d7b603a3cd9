"""Peer: XlsxWriter in constant_memory mode, typed writes per cell, with the
same sheet features as ours (bold frozen header, autofilter, date formats).
The optional 4th argument sets the zip deflate level (default: zlib's 6)."""

import time

import xlsxwriter
import xlsxwriter.workbook

import _rows

path, count, out, level = _rows.args()
_rows.patch_zip_level(xlsxwriter.workbook, level)
header, rows = _rows.load(path, count, aware=False)
load_rss = _rows.peak_rss_kb()
started = time.perf_counter()
wb = xlsxwriter.Workbook(out, {"constant_memory": True})
ws = wb.add_worksheet("Export 1")
bold = wb.add_format({"bold": True})
date = wb.add_format({"num_format": "yyyy-mm-dd"})
stamp = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
ws.freeze_panes(1, 0)
ws.write_row(0, 0, header, bold)
ws_s, ws_n, ws_d, ws_b = ws.write_string, ws.write_number, ws.write_datetime, ws.write_boolean
for r, row in enumerate(rows, start=1):
    i, fn, ln, em, ct, nw, sc, bd, ca, ac, nt = row
    ws_s(r, 0, i)
    ws_s(r, 1, fn)
    ws_s(r, 2, ln)
    ws_s(r, 3, em)
    ws_s(r, 4, ct)
    ws_n(r, 5, nw)
    ws_n(r, 6, sc)
    ws_d(r, 7, bd, date)
    ws_d(r, 8, ca, stamp)
    ws_b(r, 9, ac)
    ws_s(r, 10, nt)
ws.autofilter(0, 0, len(rows), len(header) - 1)
wb.close()
elapsed = time.perf_counter() - started
_rows.report(elapsed, count, out, load_rss)
