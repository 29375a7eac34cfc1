"""``gort trace out.json -o out.html``: a trace as one self-contained page (Go: cmd/trace).

The page needs no other tool and fetches nothing: inline SVG and CSS, no
script. It draws one lane per P (goroutine slices, coloured by goroutine,
with preemption markers), a lane for sysmon (wake-ups, preemption requests)
and one per offload worker; below, one table with a row per goroutine: run time, slices,
preemptions, longest slice, and time spent waiting, by reason.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

LANE_H = 26
LABEL_W = 110
PLOT_W = 1100
MARK = {"preempt async": "#d62728", "preempt sync": "#9467bd"}
DEFERRED = "#ff7f0e"


@dataclass
class GSummary:
    goid: int
    name: str = ""
    run_us: float = 0.0
    slices: int = 0
    longest_us: float = 0.0
    preempt_async: int = 0
    preempt_sync: int = 0
    deferred: int = 0
    wait_us: dict[str, float] = field(default_factory=lambda: defaultdict(float))


def color(goid: int) -> str:
    """A stable, well-spread colour per goroutine."""
    return f"hsl({(goid * 137.508) % 360:.0f},62%,52%)"


def load(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict) or "traceEvents" not in data:
        raise ValueError(f"{path}: not a trace-event JSON file (no traceEvents); "
                         "make one with gort run --trace or gort.trace.start")
    return data


def summarize(events: list[dict[str, Any]]) -> dict[int, GSummary]:
    """Per-goroutine totals, and each wait: from a slice's stop to the G's next slice."""
    gs: dict[int, GSummary] = {}
    last_stop: dict[int, tuple[float, str]] = {}
    slices = sorted((e for e in events if e.get("ph") == "X" and e.get("pid") == 1),
                    key=lambda e: e["ts"])
    for e in slices:
        goid = e["args"]["goid"]
        g = gs.setdefault(goid, GSummary(goid))
        g.name = e["name"].split(" ", 1)[1] if " " in e["name"] else e["name"]
        g.run_us += e["dur"]
        g.slices += 1
        g.longest_us = max(g.longest_us, e["dur"])
        if goid in last_stop:
            t, why = last_stop[goid]
            g.wait_us[why] += max(0.0, e["ts"] - t)
        last_stop[goid] = (e["ts"] + e["dur"], e["args"].get("stop", "?"))
    for e in events:
        if e.get("ph") != "i" or e.get("pid") != 1 or not e["name"].startswith("preempt"):
            continue
        g = gs.setdefault(e["args"]["goid"], GSummary(e["args"]["goid"]))
        if e["name"] == "preempt async":
            g.preempt_async += 1
        elif e["name"] == "preempt sync":
            g.preempt_sync += 1
        else:
            g.deferred += 1
    return gs


def render(data: dict[str, Any], title: str = "gort trace") -> str:
    """The whole page, as a string."""
    events = [e for e in data["traceEvents"] if e.get("ph") in ("X", "i")]
    names = {(e["pid"], e.get("tid")): e["args"]["name"] for e in data["traceEvents"]
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    lanes = sorted(names, key=lambda k: (k[0], k[1]))
    if not events:
        t0, t1 = 0.0, 1.0
    else:
        t0 = min(e["ts"] for e in events)
        t1 = max(e["ts"] + e.get("dur", 0) for e in events)
    span = max(t1 - t0, 1.0)

    def x(ts: float) -> float:
        return LABEL_W + (ts - t0) / span * PLOT_W

    row = {lane: i for i, lane in enumerate(lanes)}
    height = 30 + LANE_H * len(lanes)
    svg: list[str] = [f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" '
                      f'width="{LABEL_W + PLOT_W + 60}" height="{height + 24}">']
    for lane, i in row.items():
        y = 20 + i * LANE_H
        svg.append(f'<g class="lane" data-lane="{html.escape(names[lane])}">'
                   f'<rect x="0" y="{y}" width="{LABEL_W + PLOT_W}" height="{LANE_H - 2}" '
                   f'fill="{"#f4f4f4" if i % 2 else "#fafafa"}"/>'
                   f'<text x="6" y="{y + 16}" class="label">{html.escape(names[lane])}</text></g>')
    for e in events:
        lane = (e["pid"], e.get("tid"))
        if lane not in row:
            continue
        y = 20 + row[lane] * LANE_H
        args = e.get("args", {})
        if e["ph"] == "X":
            w = max(e["dur"] / span * PLOT_W, 0.6)
            fill = color(args["goid"]) if e["pid"] == 1 else "#8c8c8c"
            tip = f'{e["name"]}: {e["dur"] / 1000:.3f} ms'
            if "stop" in args:
                tip += f' (stopped: {args["stop"]})'
            cls = "slice" if e["pid"] == 1 else "offload"
            svg.append(f'<rect class="{cls}" x="{x(e["ts"]):.2f}" y="{y + 3}" width="{w:.2f}" '
                       f'height="{LANE_H - 8}" fill="{fill}"><title>{html.escape(tip)}</title>'
                       f'</rect>')
        elif e["name"].startswith("preempt") and e["pid"] == 1:
            c = MARK.get(e["name"], DEFERRED)
            px = x(e["ts"])
            svg.append(f'<path class="preempt" d="M{px - 4:.2f},{y} L{px + 4:.2f},{y} '
                       f'L{px:.2f},{y + 7}" fill="{c}"><title>{html.escape(e["name"])} '
                       f'G{args.get("goid")}</title></path>')
        elif e["name"] == "preempt request":
            svg.append(f'<rect class="request" x="{x(e["ts"]) - 1:.2f}" y="{y + 4}" width="2" '
                       f'height="{LANE_H - 10}" fill="#d62728"><title>preempt request '
                       f'G{args.get("goid")}</title></rect>')
        elif e["name"] == "sysmon":
            svg.append(f'<rect class="tick" x="{x(e["ts"]):.2f}" y="{y + 9}" width="1" '
                       f'height="{LANE_H - 18}" fill="#555"/>')
    for k in range(11):  # time axis
        ts = t0 + span * k / 10
        svg.append(f'<text x="{x(ts):.1f}" y="{height + 16}" class="axis">'
                   f'{(ts - t0) / 1000:.1f} ms</text>')
    svg.append("</svg>")

    gs = summarize(events)
    reasons = sorted({r for g in gs.values() for r in g.wait_us})
    head = "".join(f"<th>wait: {html.escape(r)} (ms)</th>" for r in reasons)
    rows = []
    for g in sorted(gs.values(), key=lambda g: g.goid):
        waits = "".join(f"<td>{g.wait_us.get(r, 0) / 1000:.3f}</td>" for r in reasons)
        rows.append(f'<tr data-goid="{g.goid}"><td><span class="swatch" style="background:'
                    f'{color(g.goid)}"></span>G{g.goid}</td><td>{html.escape(g.name)}</td>'
                    f"<td>{g.run_us / 1000:.3f}</td><td>{g.slices}</td>"
                    f"<td>{g.preempt_async}</td><td>{g.preempt_sync}</td><td>{g.deferred}</td>"
                    f"<td>{g.longest_us / 1000:.3f}</td>{waits}</tr>")
    npre = sum(g.preempt_async + g.preempt_sync for g in gs.values())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font: 13px system-ui, sans-serif; margin: 16px; color: #222; }}
h1 {{ font-size: 18px; margin: 0 0 4px; }}
.label {{ font: 12px monospace; fill: #333; }}
.axis {{ font: 10px monospace; fill: #666; }}
table {{ border-collapse: collapse; margin-top: 14px; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right; }}
th {{ background: #eee; }} td:nth-child(2) {{ text-align: left; font-family: monospace; }}
.swatch {{ display: inline-block; width: 10px; height: 10px; margin-right: 5px; }}
.legend span {{ margin-right: 14px; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p id="overview">{(t1 - t0) / 1000:.1f} ms traced; {len(gs)} goroutines; {npre} preemptions;
{sum(1 for e in events if e["ph"] == "X" and e["pid"] == 1)} goroutine slices.</p>
<p class="legend"><span style="color:{MARK["preempt async"]}">&#9660; async preemption</span>
<span style="color:{MARK["preempt sync"]}">&#9660; sync preemption</span>
<span style="color:{DEFERRED}">&#9660; preemption deferred</span>
<span style="color:#d62728">| preempt request (sysmon)</span></p>
{"".join(svg)}
<table id="summary"><thead><tr><th>goroutine</th><th>function</th><th>run time (ms)</th>
<th>slices</th><th>preempted async</th><th>preempted sync</th><th>deferred</th>
<th>longest slice (ms)</th>{head}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
</body></html>
"""


def main(src: str, out: str) -> int:
    """Render ``src`` (trace JSON) to ``out`` (HTML); return an exit status."""
    data = load(src)
    with open(out, "w", encoding="utf-8") as f:
        f.write(render(data, title=f"gort trace: {src}"))
    return 0
