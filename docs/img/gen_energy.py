#!/usr/bin/env python3
"""Energy per component and power over time of one cmmsim run
(docs/energy.md). Runs cmmsim (the FIG. 2 system on a 2x2 mesh, a time
series every 500 cycles), reads its stats.json and timeseries.csv and writes
docs/img/energy.svg (plain SVG, standard library only).

  python3 docs/img/gen_energy.py --cmmsim build/testbench/cmmsim
  python3 docs/img/gen_energy.py --run-dir OUT   # plot an existing run
"""
import argparse
import csv
import json
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUN = ["--seed", "3", "--messages", "40", "--set", "topology=mesh", "--set", "stats_interval_cycles=500",
       "--no-progress", "-q"]

# Stacked parts: (key in energy.by_kind, label, colour).
PARTS = [("table_lookup_pj", "CMM table lookups", "#1f77b4"), ("key_compare_pj", "CMM key compares", "#aec7e8"),
         ("register_access_pj", "CMM registers", "#17becf"), ("packet_buffer_pj", "CMM packet buffer", "#9edae5"),
         ("mac_pj", "CMM MAC", "#393b79"), ("buffer_write_pj", "buffer writes", "#d62728"),
         ("buffer_read_pj", "buffer reads", "#ff9896"), ("crossbar_pj", "crossbar", "#e377c2"),
         ("alloc_pj", "allocation", "#f7b6d2"), ("link_onchip_pj", "links on-chip", "#2ca02c"),
         ("link_board_pj", "links board", "#98df8a"), ("link_cable_pj", "links cable", "#8c564b"),
         ("static_pj", "static (leakage)", "#7f7f7f")]


def val(x):
    return x["value"] if isinstance(x, dict) else x


def run(cmmsim):
    out = tempfile.mkdtemp(prefix="cmm_energy_")
    subprocess.run([cmmsim] + RUN + ["-o", out], check=True)
    return out


def components(stats):
    """(label, {part: pJ}) per node CMM, per router, per link class."""
    e = stats["energy"]
    rows = []
    for n in e["nodes"]:
        rows.append((f"CMM {n['node']}", {k: val(n[k]) for k, _, _ in PARTS[:5] + PARTS[12:]}))
    for r in e["routers"]:
        rows.append((f"router {r['router']}", {k: val(r[k]) for k, _, _ in PARTS[5:9] + PARTS[12:]}))
    for cls in ("onchip", "board", "cable"):
        links = [l for l in e["links"] if l["class"] == cls]
        tot = sum(val(l["total_pj"]) for l in links)
        stat = sum(val(l["static_pj"]) for l in links)
        if tot:
            rows.append((f"links {cls}", {f"link_{cls}_pj": tot - stat, "static_pj": stat}))
    return rows


def plot(stats, series, out):
    W, H, M = 980, 420, 60
    lw = 150  # label column of the bars
    pw = (W - 3 * M - lw) / 2
    ph = H - 2 * M
    items = [f'<rect width="{W}" height="{H}" fill="white"/>',
             '<style>text{font-family:sans-serif;font-size:11px}</style>']
    # Left: energy per component (nJ), bar length on a log scale, split by each part's share.
    import math
    rows = [(label, parts) for label, parts in components(stats) if sum(parts.values()) > 0]
    x0, y0 = M + lw, M
    tots = [sum(p.values()) / 1000 for _, p in rows] or [1.0]
    lo = math.floor(math.log10(min(tots)))
    hi = max(math.ceil(math.log10(max(tots))), lo + 1)
    bx = lambda v: (math.log10(v) - lo) / (hi - lo) * pw
    bh = ph / max(1, len(rows))
    items.append(f'<text x="{x0}" y="{y0 - 20}" font-size="13">Energy per component (nJ, log scale), whole run</text>')
    for d in range(lo, hi + 1):
        items.append(f'<line x1="{x0 + bx(10 ** d):.1f}" y1="{y0}" x2="{x0 + bx(10 ** d):.1f}" y2="{y0 + ph}" stroke="#ddd"/>')
        items.append(f'<text x="{x0 + bx(10 ** d):.1f}" y="{y0 + ph + 15}" text-anchor="middle">{10 ** d:g}</text>')
    for i, (label, parts) in enumerate(rows):
        y = y0 + i * bh
        tot = sum(parts.values())
        items.append(f'<text x="{x0 - 6}" y="{y + bh * 0.6:.1f}" text-anchor="end">{label}</text>')
        full = bx(tot / 1000)
        x = x0
        for key, _, colour in PARTS:
            w = parts.get(key, 0.0) / tot * full
            if w > 0:
                items.append(f'<rect x="{x:.1f}" y="{y + 2:.1f}" width="{w:.2f}" height="{bh - 4:.1f}" fill="{colour}"/>')
                x += w
        items.append(f'<text x="{x + 4:.1f}" y="{y + bh * 0.6:.1f}">{tot / 1000:.3g}</text>')
    items.append(f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y0 + ph}" stroke="black"/>')
    # Right: average power per interval (mW = pJ/ns) of CMMs, routers and links.
    x1 = 2 * M + lw + pw
    items.append(f'<text x="{x1}" y="{y0 - 20}" font-size="13">Power per interval (mW, log scale)</text>')
    ghz = stats.get("clock_ghz", 1.0)
    curves = {"CMMs": ("energy_cmm_pj", "#1f77b4"), "switches": ("energy_router_pj", "#d62728"),
              "links": ("energy_link_pj", "#8c564b")}
    pts = {k: [] for k in curves}
    prev = None
    for row in series:
        c = float(row["cycle"])
        if prev is not None and c > float(prev["cycle"]):
            ns = (c - float(prev["cycle"])) / ghz
            for k, (col, _) in curves.items():
                pts[k].append((c, (float(row[col]) - float(prev[col])) / ns))
        prev = row
    allp = [p for v in pts.values() for _, p in v if p > 0]
    if allp:
        lo, hi = math.floor(math.log10(min(allp))), math.ceil(math.log10(max(allp)))
        hi = max(hi, lo + 1)
        cmax = max(c for v in pts.values() for c, _ in v)
        sx = lambda c: x1 + c / cmax * pw
        sy = lambda p: y0 + ph - (math.log10(p) - lo) / (hi - lo) * ph
        for d in range(lo, hi + 1):
            items.append(f'<line x1="{x1}" y1="{sy(10 ** d):.1f}" x2="{x1 + pw}" y2="{sy(10 ** d):.1f}" stroke="#ddd"/>')
            items.append(f'<text x="{x1 - 4}" y="{sy(10 ** d) + 4:.1f}" text-anchor="end">{10 ** d:g}</text>')
        for k, (_, colour) in curves.items():
            v = [(c, p) for c, p in pts[k] if p > 0]
            if v:
                d = " ".join(f"{sx(c):.1f},{sy(p):.1f}" for c, p in v)
                items.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="2"/>')
        items.append(f'<text x="{x1 + pw / 2}" y="{y0 + ph + 30}" text-anchor="middle">cycle</text>')
        items.append(f'<text x="{x1}" y="{y0 + ph + 15}">0</text>')
        items.append(f'<text x="{x1 + pw}" y="{y0 + ph + 15}" text-anchor="end">{cmax:.0f}</text>')
        for i, (k, (_, colour)) in enumerate(curves.items()):
            items.append(f'<rect x="{x1 + pw - 90}" y="{y0 + 8 + 16 * i}" width="12" height="3" fill="{colour}"/>')
            items.append(f'<text x="{x1 + pw - 74}" y="{y0 + 13 + 16 * i}">{k}</text>')
    items.append(f'<rect x="{x1}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="black"/>')
    # Legend of the stacked parts.
    for i, (_, label, colour) in enumerate(PARTS):
        x = M + (i % 6) * 150
        y = H - 28 + (i // 6) * 14
        items.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        items.append(f'<text x="{x + 14}" y="{y}">{label}</text>')
    with open(out, "w") as f:
        f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">\n')
        f.write("\n".join(items) + "\n</svg>\n")
    print("wrote", out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cmmsim", default=os.path.join(ROOT, "build/testbench/cmmsim"))
    ap.add_argument("--run-dir", help="plot this cmmsim -o folder instead of running cmmsim")
    ap.add_argument("--out", default=os.path.join(HERE, "energy.svg"))
    a = ap.parse_args()
    d = a.run_dir or run(a.cmmsim)
    with open(os.path.join(d, "stats.json")) as f:
        stats = json.load(f)
    with open(os.path.join(d, "config.json")) as f:
        stats["clock_ghz"] = json.load(f).get("clock_ghz", 1.0)
    series = []
    ts = os.path.join(d, "timeseries.csv")
    if os.path.exists(ts):
        with open(ts) as f:
            series = list(csv.DictReader(f))
    plot(stats, series, a.out)


if __name__ == "__main__":
    main()
