#!/usr/bin/env python3
"""Draws a window of kvs Chrome traces (KVS_TIMELINE) as an SVG: one lane per
node and key, one box per stage. Used for the picture in docs/training.md.

  tools/timeline_svg.py OUT.svg START_MS LENGTH_MS trace.worker0.json trace.server0.json ...

START_MS counts from the first event of the first file."""
import json
import sys

COLORS = {"queued": "#c9c9c9", "pre-sum": "#f2b134", "on the wire": "#4a90d9",
          "convert": "#9b59b6", "done": "#2e8b57", "round": "#e06666", "update": "#6aa84f"}


def main():
    out, start_ms, length_ms, files = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
    lanes, t0 = [], None
    for f in files:
        events = json.load(open(f))["traceEvents"]
        proc = next(e["args"]["name"] for e in events if e["name"] == "process_name")
        names = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
        spans = [e for e in events if e["ph"] == "X"]
        if t0 is None:
            t0 = min(e["ts"] for e in spans)
        for tid in sorted(names):
            lanes.append((proc + ", " + names[tid], [e for e in spans if e["tid"] == tid]))
    lo, hi = t0 + start_ms * 1000, t0 + (start_ms + length_ms) * 1000
    left, width, lane_h, top = 230, 760, 18, 30
    scale = width / (hi - lo)
    height = top + lane_h * len(lanes) + 60
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 20}" height="{height}" '
           'font-family="sans-serif" font-size="11">',
           f'<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{left}" y="18">time (ms from {start_ms:g} ms into the trace)</text>']
    for i in range(int(length_ms) + 1):
        x = left + i * 1000 * scale
        svg.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + lane_h * len(lanes)}" '
                   'stroke="#eee"/>')
        svg.append(f'<text x="{x:.1f}" y="{top + lane_h * len(lanes) + 14}" text-anchor="middle">'
                   f'{start_ms + i:g}</text>')
    for n, (name, spans) in enumerate(lanes):
        y = top + n * lane_h
        svg.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{name.replace(chr(34), "")}</text>')
        for e in spans:
            b, d = max(e["ts"], lo), min(e["ts"] + e["dur"], hi)
            if d < b:
                continue
            w = max((d - b) * scale, 1.0)
            svg.append(f'<rect x="{left + (b - lo) * scale:.1f}" y="{y + 2}" width="{w:.1f}" '
                       f'height="{lane_h - 4}" fill="{COLORS.get(e["name"], "#888")}">'
                       f'<title>{e["name"]}: {e["dur"]} us, {e["args"]["bytes"]} bytes</title></rect>')
    x = left
    for stage, color in COLORS.items():
        y = top + lane_h * len(lanes) + 30
        svg.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{color}"/>')
        svg.append(f'<text x="{x + 16}" y="{y + 10}">{stage}</text>')
        x += 30 + 7 * len(stage)
    svg.append('</svg>')
    open(out, "w").write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
