#!/usr/bin/env python3
"""The 1,024-server dragonfly example (docs/examples/dragonfly1024.json):
mean and p99 message latency and accepted load versus offered load, from a
scripts/sweep run (README "Server fabrics", docs/fabric.md).

  scripts/sweep -o results/df1024 --seeds 1 --set traffic.offered_load=... \\
      --set warmup_cycles=500 --set measure_cycles=2000 -- -c docs/examples/dragonfly1024.json
  python3 docs/img/gen_fabric_dragonfly1024.py --sweep results/df1024/sweep.csv   # data + figure
  python3 docs/img/gen_fabric_dragonfly1024.py                                    # redraw from the data

Writes docs/data/dragonfly1024_sweep.csv (one row per run: the columns
below) and docs/img/dragonfly1024-latency.svg (standard library only).
"""
import argparse
import csv
import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "docs/data/dragonfly1024_sweep.csv")
SVG = os.path.join(HERE, "dragonfly1024-latency.svg")
# sweep.csv column -> data column
COLS = [("config_traffic.offered_load", "offered"), ("accepted_msgs", "accepted"), ("latency_mean", "latency_mean"),
        ("latency_p99", "latency_p99"), ("simulated_cycles", "simulated_cycles"),
        ("scoreboard_clean", "scoreboard_clean"), ("exit_status", "exit_status")]


def extract(sweep_csv, data):
    rows = []
    with open(sweep_csv) as fh:
        for r in csv.DictReader(fh):
            rows.append({dst: r[src] for src, dst in COLS})
    rows.sort(key=lambda r: float(r["offered"]))
    bad = [r for r in rows if r["exit_status"] != "0" or r["scoreboard_clean"] != "1"]
    if bad:
        raise SystemExit(f"runs not clean (exit status, scoreboard): {bad}")
    os.makedirs(os.path.dirname(os.path.abspath(data)), exist_ok=True)
    with open(data, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=[d for _, d in COLS])
        w.writeheader()
        w.writerows(rows)
    print("wrote", data)


def plot(data, svg):
    with open(data) as fh:
        rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]
    W, H, M = 900, 380, 64
    pw, ph = (W - 3 * M) / 2, H - 2.4 * M
    xmax = max(r["offered"] for r in rows) * 1.1
    xt = [x for x in (0.002, 0.004, 0.006, 0.008, 0.01, 0.012, 0.016, 0.02) if x <= xmax]
    it = [f'<rect width="{W}" height="{H}" fill="white"/>',
          f'<text x="{W / 2}" y="20" font-size="15" text-anchor="middle" font-family="sans-serif">'
          'dragonfly1024: 1,024 servers (a 8, p 4, h 4, 32 groups), UGAL, CMM on every server</text>']

    def panel(x0, title, series, ymin, ymax, log, ticks, ylabel):
        y0 = 1.4 * M

        def X(v):
            return x0 + pw * v / xmax

        def Y(v):
            v = min(max(v, ymin), ymax)
            f = math.log10(v / ymin) / math.log10(ymax / ymin) if log else (v - ymin) / (ymax - ymin)
            return y0 + ph * (1 - f)
        it.append(f'<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
        for t in xt:
            it.append(f'<line x1="{X(t):.1f}" y1="{y0}" x2="{X(t):.1f}" y2="{y0 + ph}" stroke="#eee"/>')
            it.append(f'<text x="{X(t):.1f}" y="{y0 + ph + 15}" font-size="11" text-anchor="middle" '
                      f'font-family="sans-serif">{t:g}</text>')
        for t in ticks:
            it.append(f'<line x1="{x0}" y1="{Y(t):.1f}" x2="{x0 + pw}" y2="{Y(t):.1f}" stroke="#eee"/>')
            it.append(f'<text x="{x0 - 5}" y="{Y(t) + 4:.1f}" font-size="11" text-anchor="end" '
                      f'font-family="sans-serif">{t:g}</text>')
        it.append(f'<text x="{x0 + pw / 2}" y="{y0 - 8}" font-size="12" text-anchor="middle" '
                  f'font-family="sans-serif">{title}</text>')
        it.append(f'<text x="{x0 + pw / 2}" y="{y0 + ph + 32}" font-size="11" text-anchor="middle" '
                  f'font-family="sans-serif">offered load (messages/cycle/process)</text>')
        it.append(f'<text x="{x0 - 46}" y="{y0 + ph / 2}" font-size="11" text-anchor="middle" '
                  f'font-family="sans-serif" transform="rotate(-90 {x0 - 46} {y0 + ph / 2})">{ylabel}</text>')
        for k, (key, color, name) in enumerate(series):
            d = " ".join(f'{"M" if i == 0 else "L"} {X(r["offered"]):.1f} {Y(r[key]):.1f}'
                         for i, r in enumerate(rows))
            it.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="1.6"/>')
            for r in rows:
                it.append(f'<circle cx="{X(r["offered"]):.1f}" cy="{Y(r[key]):.1f}" r="2.8" fill="{color}"/>')
            ly = y0 + 14 + 14 * k
            it.append(f'<line x1="{x0 + 10}" y1="{ly}" x2="{x0 + 34}" y2="{ly}" stroke="{color}" stroke-width="1.6"/>')
            it.append(f'<text x="{x0 + 40}" y="{ly + 4}" font-size="10" font-family="sans-serif">{name}</text>')

    lat = [r["latency_p99"] for r in rows] + [r["latency_mean"] for r in rows]
    lmin = 10 ** math.floor(math.log10(max(1.0, min(lat))))
    lmax = 10 ** math.ceil(math.log10(max(lat)))
    lticks = [t for e in range(int(math.log10(lmin)), int(math.log10(lmax)) + 1) for t in (10 ** e, 2 * 10 ** e,
                                                                                           5 * 10 ** e)
              if lmin <= t <= lmax]
    panel(M, "message latency (cycles, log)", [("latency_mean", "#1f77b4", "mean"), ("latency_p99", "#d62728", "p99")],
          lmin, lmax, True, lticks, "cycles")
    amax = xmax
    panel(2 * M + pw, "accepted versus offered", [("offered", "#bbbbbb", "offered"),
                                                  ("accepted", "#2ca02c", "accepted")],
          0, amax, False, xt, "messages/cycle/process")
    with open(svg, "w") as fh:
        fh.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">\n')
        fh.write("\n".join(it) + "\n</svg>\n")
    print("wrote", svg)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sweep", metavar="SWEEP_CSV", help="scripts/sweep's merged sweep.csv: rewrite the data first")
    ap.add_argument("--data", default=DATA, help="data CSV to write (with --sweep) and plot (default: %(default)s)")
    ap.add_argument("--svg", default=SVG, help="figure to write (default: %(default)s)")
    a = ap.parse_args()
    if a.sweep:
        extract(a.sweep, a.data)
    plot(a.data, a.svg)


if __name__ == "__main__":
    main()
