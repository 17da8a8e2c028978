#!/usr/bin/env python3
"""Plot the CSV of `cargo bench --bench mcp_load -- --csv FILE` as one self-contained SVG.

    python3 scripts/plot_load.py load.csv [benches/load.svg]

The CSV has the header `server,tool,conns,round,req_s,p50_us,p99_us`: one row per server,
tool, connection count and round. `server` is `ceiling` (bare rmcp), `durable` (rmcp and one
~2 KB RocksDB write per call) or `flowmcp`; `tool` is `noop` for the two ceilings and a demo
tool for flowmcp. Each series is a (server, tool) pair; each point is the median over the
rounds of one connection count. Two panels side by side: requests per second and p99 latency
against the number of connections, on a log-2 axis. Python 3 standard library only: the SVG
is written by hand, no plotting package.
"""

import argparse
import csv
import math
import statistics
import sys
from collections import defaultdict
from xml.sax.saxutils import escape

COLUMNS = ("server", "tool", "conns", "round", "req_s", "p50_us", "p99_us")
# One colour per series, in the order the series are drawn (ceilings first).
PALETTE = ("#4d4d4d", "#8c564b", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
SERVER_ORDER = {"ceiling": 0, "durable": 1, "flowmcp": 2}

WIDTH, HEIGHT = 1000, 460
PANEL_W, PANEL_H = 380, 300  # plotting area of one panel
MARGIN_LEFT, MARGIN_TOP = 80, 70
PANEL_GAP = 120
FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"


def read_medians(path):
    """{(server, tool): {conns: (median req/s, median p99 µs)}} from the CSV at `path`."""
    samples = defaultdict(lambda: defaultdict(list))
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            sys.exit(f"{path}: missing column(s) {', '.join(missing)}; "
                     f"expected {','.join(COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            try:
                conns = int(row["conns"])
                req_s = float(row["req_s"])
                p99 = float(row["p99_us"])
            except (TypeError, ValueError) as e:
                sys.exit(f"{path}:{line}: {e}")
            if conns < 1:
                sys.exit(f"{path}:{line}: conns must be at least 1")
            samples[(row["server"], row["tool"])][conns].append((req_s, p99))
    if not samples:
        sys.exit(f"{path}: no rows")
    return {
        series: {
            conns: (
                statistics.median(r for r, _ in points),
                statistics.median(p for _, p in points),
            )
            for conns, points in by_conns.items()
        }
        for series, by_conns in samples.items()
    }


def nice_ceiling(value):
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above `value` (a round axis end)."""
    if value <= 0:
        return 1.0
    exp = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * 10**exp >= value:
            return step * 10**exp
    return 10 ** (exp + 1)


def fmt(value):
    if value >= 1000 and value % 1000 == 0:
        return f"{value / 1000:g}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:g}"


def panel(x0, y0, title, ylabel, series, pick, ticks):
    """SVG elements of one panel at (x0, y0): axes, grid, one polyline per series."""
    out = []
    y_max = nice_ceiling(max(pick(v) for points in series.values() for v in points.values()))
    lo, hi = math.log2(ticks[0]), math.log2(ticks[-1])

    def px(conns):
        return x0 + (math.log2(conns) - lo) / (hi - lo) * PANEL_W

    def py(value):
        return y0 + PANEL_H - value / y_max * PANEL_H

    out.append(f"<text x='{x0 + PANEL_W / 2}' y='{y0 - 14}' text-anchor='middle' "
               f"font-size='15' font-weight='bold' {FONT}>{escape(title)}</text>")
    for i in range(6):  # horizontal grid and y ticks
        value = y_max * i / 5
        y = py(value)
        out.append(f"<line x1='{x0}' y1='{y:.1f}' x2='{x0 + PANEL_W}' y2='{y:.1f}' "
                   "stroke='#e0e0e0'/>")
        out.append(f"<text x='{x0 - 8}' y='{y + 4:.1f}' text-anchor='end' font-size='12' "
                   f"{FONT}>{fmt(value)}</text>")
    for conns in ticks:  # vertical grid and x ticks
        x = px(conns)
        out.append(f"<line x1='{x:.1f}' y1='{y0}' x2='{x:.1f}' y2='{y0 + PANEL_H}' "
                   "stroke='#e0e0e0'/>")
        out.append(f"<text x='{x:.1f}' y='{y0 + PANEL_H + 18}' text-anchor='middle' "
                   f"font-size='12' {FONT}>{conns}</text>")
    out.append(f"<rect x='{x0}' y='{y0}' width='{PANEL_W}' height='{PANEL_H}' fill='none' "
               "stroke='#333'/>")
    out.append(f"<text x='{x0 + PANEL_W / 2}' y='{y0 + PANEL_H + 40}' text-anchor='middle' "
               f"font-size='13' {FONT}>connections (log₂)</text>")
    cy = y0 + PANEL_H / 2
    out.append(f"<text x='{x0 - 58}' y='{cy}' text-anchor='middle' font-size='13' "
               f"transform='rotate(-90 {x0 - 58} {cy})' {FONT}>{escape(ylabel)}</text>")
    for (name, points), colour in zip(series.items(), PALETTE * 4):
        xs = sorted(points)
        coords = " ".join(f"{px(c):.1f},{py(pick(points[c])):.1f}" for c in xs)
        dash = " stroke-dasharray='6 4'" if name[0] != "flowmcp" else ""
        out.append(f"<polyline points='{coords}' fill='none' stroke='{colour}' "
                   f"stroke-width='2'{dash}/>")
        for c in xs:
            out.append(f"<circle cx='{px(c):.1f}' cy='{py(pick(points[c])):.1f}' r='3.5' "
                       f"fill='{colour}'/>")
    return out


def render(medians, title):
    series = dict(sorted(medians.items(), key=lambda kv: (SERVER_ORDER.get(kv[0][0], 9), kv[0])))
    all_conns = sorted({c for points in series.values() for c in points})
    ticks = sorted({1, 4, 16, 64} | {all_conns[0], all_conns[-1]})
    if ticks[0] == ticks[-1]:
        ticks = [ticks[0], ticks[0] * 2]
    left = MARGIN_LEFT
    right = MARGIN_LEFT + PANEL_W + PANEL_GAP
    legend_y = MARGIN_TOP + PANEL_H + 62
    height = max(HEIGHT, legend_y + 22 * math.ceil(len(series) / 3) + 10)
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}' "
        f"viewBox='0 0 {WIDTH} {height}'>",
        f"<rect width='{WIDTH}' height='{height}' fill='white'/>",
        f"<text x='{WIDTH / 2}' y='28' text-anchor='middle' font-size='18' font-weight='bold' "
        f"{FONT}>{escape(title)}</text>",
    ]
    parts += panel(left, MARGIN_TOP, "throughput (median of rounds)", "requests per second",
                   series, lambda v: v[0], ticks)
    parts += panel(right, MARGIN_TOP, "p99 latency (median of rounds)", "p99 latency (µs)",
                   series, lambda v: v[1], ticks)
    for i, ((server, tool), colour) in enumerate(zip(series, PALETTE * 4)):
        x = left + (i % 3) * 300
        y = legend_y + (i // 3) * 22
        dash = " stroke-dasharray='6 4'" if server != "flowmcp" else ""
        parts.append(f"<line x1='{x}' y1='{y}' x2='{x + 28}' y2='{y}' stroke='{colour}' "
                     f"stroke-width='2'{dash}/>")
        parts.append(f"<circle cx='{x + 14}' cy='{y}' r='3.5' fill='{colour}'/>")
        parts.append(f"<text x='{x + 36}' y='{y + 4}' font-size='13' {FONT}>"
                     f"{escape(server)} / {escape(tool)}</text>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", help="CSV written by mcp_load --csv")
    parser.add_argument("svg", nargs="?", default="benches/load.svg",
                        help="output SVG (default: benches/load.svg)")
    parser.add_argument("--title", default="MCP tools/call over streamable HTTP (mcp_load)")
    args = parser.parse_args()
    svg = render(read_medians(args.csv), args.title)
    with open(args.svg, "w", encoding="utf-8") as f:
        f.write(svg)
    print(f"wrote {args.svg}")


if __name__ == "__main__":
    main()
