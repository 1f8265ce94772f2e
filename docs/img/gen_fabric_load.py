#!/usr/bin/env python3
"""Latency and accepted throughput versus offered load on switched fabrics,
uniform and adversarial traffic (docs/fabric.md "Latency versus load on
switched fabrics"). Runs cmm_topo --load once per point, writes
docs/data/fabric_load.csv and docs/img/fabric_load.svg (plain SVG, standard library only).

  python3 docs/img/gen_fabric_load.py --tool build/tlm/cmm_topo
"""
import argparse
import csv
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

FABRICS = {
    "fat_tree 4-ary 2-tree, D-mod-k": ["--topology", "fat_tree", "--ft-k", "4", "--ft-levels", "2"],
    "fat_tree 4-ary 2-tree, ECMP": ["--topology", "fat_tree", "--ft-k", "4", "--ft-levels", "2", "--routing", "ecmp"],
    "dragonfly a4 p2 h2, minimal": ["--topology", "dragonfly", "--df-a", "4", "--df-p", "2", "--df-h", "2"],
}
COMMON = ["--link-latency", "1", "--vcs", "2", "--depth", "8", "--packet-bytes", "128", "--warmup", "2000",
          "--measure", "8000"]
LOADS = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", default=os.path.join(ROOT, "build/tlm/cmm_topo"))
    a = ap.parse_args()
    rows = []
    for name, args in FABRICS.items():
        for pattern in ("uniform", "adversarial"):
            for load in LOADS:
                out = subprocess.run([a.tool] + args + COMMON + ["--pattern", pattern, "--load", str(load)],
                                     check=True, capture_output=True, text=True).stdout
                line = [l for l in out.splitlines() if l.startswith("load,")][0].split(",")
                rows.append({"fabric": name, "pattern": pattern, "offered": float(line[4]),
                             "accepted": float(line[5]), "latency": float(line[6])})
                print(name, pattern, line[4:])
    os.makedirs(os.path.join(ROOT, "docs/data"), exist_ok=True)
    path = os.path.join(ROOT, "docs/data/fabric_load.csv")
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["fabric", "pattern", "offered", "accepted", "latency"])
        w.writeheader()
        w.writerows(rows)
    print("wrote", path)
    plot(rows, os.path.join(HERE, "fabric_load.svg"))


COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def plot(rows, out):
    """Two panels (accepted, log latency) as plain SVG: no plotting library needed."""
    import math
    W, H, M = 980, 400, 60
    pw = (W - 3 * M) / 2
    ph = H - 2 * M
    items = [f'<rect width="{W}" height="{H}" fill="white"/>']

    def panel(x0, ylab, yval, ymin, ymax, ticks, log):
        def Y(v):
            v = max(v, ymin)
            f = (math.log10(v) - math.log10(ymin)) / (math.log10(ymax) - math.log10(ymin)) if log \
                else (v - ymin) / (ymax - ymin)
            return M + ph * (1 - f)

        def X(v):
            return x0 + pw * v / 0.8
        items.append(f'<rect x="{x0}" y="{M}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
        for t in [0, 0.2, 0.4, 0.6, 0.8]:
            items.append(f'<line x1="{X(t):.1f}" y1="{M}" x2="{X(t):.1f}" y2="{M + ph}" stroke="#eee"/>')
            items.append(f'<text x="{X(t):.1f}" y="{M + ph + 16}" font-size="11" text-anchor="middle" '
                         f'font-family="sans-serif">{t}</text>')
        for t in ticks:
            items.append(f'<line x1="{x0}" y1="{Y(t):.1f}" x2="{x0 + pw}" y2="{Y(t):.1f}" stroke="#eee"/>')
            items.append(f'<text x="{x0 - 6}" y="{Y(t) + 4:.1f}" font-size="11" text-anchor="end" '
                         f'font-family="sans-serif">{t}</text>')
        items.append(f'<text x="{x0 + pw / 2}" y="{H - 14}" font-size="12" text-anchor="middle" '
                     f'font-family="sans-serif">offered load (flits/terminal/cycle)</text>')
        items.append(f'<text x="{x0 + pw / 2}" y="{M - 12}" font-size="13" text-anchor="middle" '
                     f'font-family="sans-serif">{ylab}</text>')
        for i, name in enumerate(FABRICS):
            for pattern, dash in (("uniform", ""), ("adversarial", ' stroke-dasharray="6 4"')):
                pts = [r for r in rows if r["fabric"] == name and r["pattern"] == pattern]
                d = " ".join(f'{"M" if k == 0 else "L"} {X(r["offered"]):.1f} {Y(yval(r)):.1f}'
                             for k, r in enumerate(pts))
                items.append(f'<path d="{d}" fill="none" stroke="{COLORS[i]}" stroke-width="1.6"{dash}/>')
                for r in pts:
                    items.append(f'<circle cx="{X(r["offered"]):.1f}" cy="{Y(yval(r)):.1f}" r="2.2" '
                                 f'fill="{COLORS[i]}"/>')
    panel(M, "accepted throughput (flits/terminal/cycle)", lambda r: r["accepted"], 0, 0.8,
          [0, 0.2, 0.4, 0.6, 0.8], False)
    panel(2 * M + pw, "mean network latency (cycles, log)", lambda r: r["latency"], 10, 400, [10, 20, 50, 100, 200, 400],
          True)
    y = M + 10
    for i, name in enumerate(FABRICS):
        for pattern, dash in (("uniform", ""), ("adversarial", ' stroke-dasharray="6 4"')):
            y += 15
            items.append(f'<line x1="{M + 10}" y1="{y}" x2="{M + 40}" y2="{y}" stroke="{COLORS[i]}" '
                         f'stroke-width="1.6"{dash}/>')
            items.append(f'<text x="{M + 46}" y="{y + 4}" font-size="10" font-family="sans-serif">{name}, '
                         f'{pattern}</text>')
    with open(out, "w") as f:
        f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">\n')
        f.write("\n".join(items) + "\n</svg>\n")
    print("wrote", out)

if __name__ == "__main__":
    main()
