#!/usr/bin/env python3
"""Prints chosen columns of a `debros --format json query ...` reply, one row per document.

    view.py COLUMN... [--each RELATION COLUMN...]

COLUMN is `[header=]path[@date]`: `path` is dotted and reaches into embedded relations
(`author.displayName`); the header defaults to the path's first part; `@date` shows a
milliseconds-since-epoch value as a UTC date. `--each comments author.displayName content`
prints, under each row, one indented line per element of the row's embedded array `comments`.

The CLI's own table prints every field of every document; this keeps the demo readable.
"""
import datetime
import json
import sys

CELL_WIDTH_MAX = 72


def lookup(doc, path):
    for part in path.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def render(value, fmt):
    if value is None:
        return "-"
    if fmt == "date" and isinstance(value, (int, float)):
        when = datetime.datetime.fromtimestamp(value / 1000, datetime.timezone.utc)
        return when.strftime("%Y-%m-%d")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        value = ",".join(str(x) for x in value)
    text = str(value)
    return text if len(text) <= CELL_WIDTH_MAX else text[: CELL_WIDTH_MAX - 1] + "\u2026"


def parse_column(spec):
    header, _, rest = spec.rpartition("=")
    path, _, fmt = rest.partition("@")
    return (header or path.split(".")[0], path, fmt)


def aligned(rows):
    """The rows (lists of cells) as lines with padded columns."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def cells(doc, columns):
    return [render(lookup(doc, path), fmt) for _, path, fmt in columns]


def main(argv):
    columns, nested = argv, None
    if "--each" in argv:
        at = argv.index("--each")
        columns, nested = argv[:at], (argv[at + 1], [parse_column(c) for c in argv[at + 2 :]])
    columns = [parse_column(c) for c in columns]
    reply = json.load(sys.stdin)
    # A query's page, or one document (debros get).
    docs = reply.get("docs", []) if "docs" in reply or "id" not in reply else [reply]
    if not docs:
        print("(none)")
        return
    lines = aligned([[h for h, _, _ in columns]] + [cells(d, columns) for d in docs])
    print(lines[0])
    for doc, line in zip(docs, lines[1:]):
        print(line)
        if nested is None:
            continue
        relation, sub_columns = nested
        items = lookup(doc, relation) or []
        if not items:
            print("    (no %s)" % relation)
            continue
        for sub in aligned([cells(item, sub_columns) for item in items]):
            print("    - " + sub)


if __name__ == "__main__":
    main(sys.argv[1:])
