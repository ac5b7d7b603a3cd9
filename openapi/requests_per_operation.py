"""Requests schemathesis sent, by operation of openapi/exports.yaml.

Reads the HAR reports of `make schemathesis` (every request it sent) and
counts them by the operation whose path template matches each URL, a
literal path before a templated one, as API Gateway picks a route. A
request that matches no operation (a generated path parameter that
changes the path's segments) is counted as `(no route)`.

    python openapi/requests_per_operation.py target/schemathesis/requests.har \
        target/schemathesis/requests-export-logs.har
"""

from __future__ import annotations

import collections
import json
import pathlib
import sys
import urllib.parse

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def operations() -> list[tuple[str, str]]:
    doc = yaml.safe_load((ROOT / "openapi" / "exports.yaml").read_text(encoding="utf-8"))
    ops = [(m.upper(), path) for path, item in doc["paths"].items() for m in METHODS if m in item]
    # Literal segments first, as API Gateway matches routes.
    return sorted(ops, key=lambda op: op[1].count("{"))


def fits(template: str, path: str) -> bool:
    t, p = template.split("/"), path.split("/")
    return len(t) == len(p) and all(
        (a.startswith("{") and a.endswith("}") and b != "") or a == b for a, b in zip(t, p)
    )


def main(hars: list[str]) -> int:
    ops = operations()
    counts: collections.Counter[str] = collections.Counter()
    statuses: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    entries = [
        entry
        for har in hars
        for entry in json.loads(pathlib.Path(har).read_text(encoding="utf-8"))["log"]["entries"]
    ]
    for entry in entries:
        method = entry["request"]["method"].upper()
        path = urllib.parse.urlsplit(entry["request"]["url"]).path
        label = next((f"{m} {t}" for m, t in ops if m == method and fits(t, path)), "(no route)")
        counts[label] += 1
        statuses[label][entry["response"]["status"]] += 1
    width = max([len(f"{m} {t}") for m, t in ops] + [10])
    print(f"{'operation':<{width}}  requests  statuses")
    for m, t in sorted(ops, key=lambda op: (op[1], op[0])):
        label = f"{m} {t}"
        by_status = ", ".join(f"{s}: {n}" for s, n in sorted(statuses[label].items()))
        print(f"{label:<{width}}  {counts[label]:>8}  {by_status}")
    if counts["(no route)"]:
        by_status = ", ".join(f"{s}: {n}" for s, n in sorted(statuses["(no route)"].items()))
        print(f"{'(no route)':<{width}}  {counts['(no route)']:>8}  {by_status}")
    print(f"{'total':<{width}}  {sum(counts.values()):>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["target/schemathesis/requests.har"]))
