"""Peer: pandas DataFrame.to_csv on a typed frame (datetime64, bool, float)."""

import time

import pandas as pd

import _rows

path, count, out, _ = _rows.args()
header, rows = _rows.load(path, count, aware=True)
df = pd.DataFrame.from_records(rows, columns=header)
df["birthDate"] = pd.to_datetime(df["birthDate"])
df["createdAt"] = pd.to_datetime(df["createdAt"], utc=True)
del rows
load_rss = _rows.peak_rss_kb()
started = time.perf_counter()
df.to_csv(out, index=False)
elapsed = time.perf_counter() - started
_rows.report(elapsed, count, out, load_rss)
