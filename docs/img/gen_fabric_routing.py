#!/usr/bin/env python3
"""Routing on switched fabrics: latency and accepted throughput versus load
for minimal, Valiant and UGAL on a dragonfly and D-mod-k, ECMP and adaptive
up-routing on a fat-tree, uniform and adversarial traffic, side by side with
BookSim2 configured the same way (docs/fabric.md "Adaptive routing").

  python3 docs/img/gen_fabric_routing.py --tool build/tlm/cmm_topo --booksim /path/to/booksim
  python3 docs/img/gen_fabric_routing.py --tool build/tlm/cmm_topo   # keeps the CSV's BookSim2 rows
  python3 docs/img/gen_fabric_routing.py --plot-only                 # redraws from the CSV
  python3 docs/img/gen_fabric_routing.py --knee --booksim /path/to/booksim   # knee cells, 4 seeds each

BookSim2 is not part of the project: build it yourself and pass its binary;
this script only writes its configuration file (to a temporary folder) and
reads its printed averages. Writes docs/data/fabric_routing.csv and
docs/img/fabric_routing_{dragonfly,fat_tree}.svg (standard library only).
"""
import argparse
import csv
import math
import os
import re
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CSV = os.path.join(ROOT, "docs/data/fabric_routing.csv")

# The router of the BookSim2 calibration (docs/fabric.md): iq, 1/1/1/1
# stages, credit delay 0, iSLIP, 8-flit packets, uniform includes the source.
PIPE = ["--router", "pipeline", "--rc", "1", "--va", "1", "--sa", "1", "--st", "1", "--credit-delay", "0",
        "--link-latency", "1", "--packet-bytes", "128", "--include-self",
        "--warmup", "10000", "--measure", "30000", "--drain", "30000"]
# BookSim2's terminal interface and per-packet VC choice (docs/fabric.md):
# every series but the flowlet ones, which are the model as cmmsim runs it.
BS = ["--terminal-direct", "--vc-per-packet"]
FABRICS = {
    # BookSim2 dragonflynew k=2: p 2, a 4, h 2, 9 groups, 72 terminals;
    # local links 10 cycles, global 100; 3 VCs (one per phase), 256 flits.
    # Ours via an intermediate router (BookSim2's) needs 4 VC sets: 4 VCs.
    "dragonfly": {
        "args": ["--topology", "dragonfly", "--df-a", "4", "--df-p", "2", "--df-h", "2", "--link-ns-local", "10",
                 "--link-ns-global", "100", "--depth", "256"],
        "routings": {"minimal": BS + ["--vcs", "3"],
                     "valiant": BS + ["--vcs", "4", "--per-packet", "--valiant-router"],
                     "ugal": BS + ["--vcs", "3", "--per-packet", "--valiant-router", "--phase-vcs"],
                     "ugal, 4 VC sets": BS + ["--vcs", "4", "--per-packet", "--valiant-router"],
                     "ugal, flowlets": ["--vcs", "3"]},
        "booksim": {"minimal": "min", "ugal": "ugal"},
        "bs_cfg": "topology = dragonflynew; k = 2; n = 1; num_vcs = 3; vc_buf_size = 256;",
        "loads": [0.05, 0.1, 0.15, 0.2, 0.22, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
    },
    # BookSim2 fattree k=4 n=3: 64 terminals, all links 1 cycle, 2 VCs, 8 flits.
    "fat_tree": {
        "args": ["--topology", "fat_tree", "--ft-k", "4", "--ft-levels", "3", "--vcs", "2", "--depth", "8"],
        "routings": {"minimal": BS, "ecmp": BS, "adaptive": BS + ["--per-packet", "--adaptive-choices", "2"],
                     "adaptive, flowlets": []},
        "booksim": {"adaptive": "anca"},
        "bs_cfg": "topology = fattree; k = 4; n = 3; num_vcs = 2; vc_buf_size = 8;",
        "loads": [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
    },
}
BS_COMMON = """router = iq; routing_delay = 1; vc_alloc_delay = 1; sw_alloc_delay = 1; st_final_delay = 1;
st_prepare_delay = 0; credit_delay = 0; vc_allocator = islip; sw_allocator = islip; alloc_iters = 1;
input_speedup = 1; output_speedup = 1; internal_speedup = 1.0; wait_for_tail_credit = 0;
packet_size = 8; injection_rate_uses_flits = 1;
sim_type = latency; warmup_periods = 1; sample_period = 10000; max_samples = 4;
stopping_thres = 0.0; acc_stopping_thres = 0.0; latency_thres = 1000000000.0;
"""
FIELDS = ["sim", "fabric", "routing", "pattern", "offered", "accepted", "latency", "net_latency", "unfinished"]


def run_ours_point(tool, fab, routing, pattern, load, seed=1):
    f = FABRICS[fab]
    cmd = ["nice", "-n", "10", tool] + f["args"] + PIPE + f["routings"][routing] + [
        "--routing", routing.split(",")[0], "--pattern", pattern, "--load", str(load), "--seed", str(seed)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    x = [l for l in out.splitlines() if l.startswith("load,")][0].split(",")
    row = {"sim": "cmm", "fabric": fab, "routing": routing, "pattern": pattern, "offered": load,
           "accepted": float(x[5]), "net_latency": float(x[6]), "latency": float(x[7]), "unfinished": int(x[9])}
    print(row, flush=True)
    return row


def run_ours(tool, fab, routing, pattern):
    return [run_ours_point(tool, fab, routing, pattern, load) for load in FABRICS[fab]["loads"]]


def run_booksim_point(binary, fab, routing, pattern, load, tmp, seed=0, timeout=600):
    f = FABRICS[fab]
    traffic = "uniform" if pattern == "uniform" else "bad_dragon"
    cfg = os.path.join(tmp, fab + ".cfg")
    with open(cfg, "w") as fh:
        fh.write(f["bs_cfg"] + "\n" + BS_COMMON + f"traffic = {traffic};\n")
    try:
        out = subprocess.run(["nice", "-n", "10", "stdbuf", "-oL", binary, cfg, f"injection_rate={load}",
                              f"routing_function={f['booksim'][routing]}", f"seed={seed}"],
                             capture_output=True, text=True, timeout=timeout).stdout
    except subprocess.TimeoutExpired as e:  # overload: the drain of a saturated run (last sample's averages)
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
    lat = re.findall(r"Packet latency average = ([0-9.]+)", out)
    net = re.findall(r"Network latency average = ([0-9.]+)", out)
    acc = re.findall(r"Accepted flit rate average\s*= ([0-9.]+)", out)
    if not lat or not acc:
        print("booksim gave no averages at", fab, routing, pattern, load)
        return None
    row = {"sim": "booksim", "fabric": fab, "routing": routing, "pattern": pattern, "offered": load,
           "accepted": float(acc[-1]), "latency": float(lat[-1]), "net_latency": float(net[-1]), "unfinished": 0}
    print(row, flush=True)
    return row


def run_booksim(binary, fab, routing, pattern, tmp):
    rows = [run_booksim_point(binary, fab, routing, pattern, load, tmp) for load in FABRICS[fab]["loads"]]
    return [r for r in rows if r]


# The knee cells (docs/fabric.md): where the latency curve is vertical, one
# seed decides whether a point is just below or just above saturation, so
# each is run with four seeds on both sides (ours --seed 1..4, BookSim2 seed
# 0..3; seed 1 and 0 are the main CSV's).
KNEE = [("dragonfly", "ugal", "adversarial", [0.22, 0.25]), ("fat_tree", "adaptive", "uniform", [0.6])]
KNEE_CSV = os.path.join(ROOT, "docs/data/fabric_routing_knee.csv")
KNEE_FIELDS = ["sim", "fabric", "routing", "pattern", "offered", "seed", "accepted", "latency"]


def run_knee(tool, booksim):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fab, routing, pattern, loads in KNEE:
            for load in loads:
                for k in range(4):
                    r = run_ours_point(tool, fab, routing, pattern, load, seed=k + 1)
                    rows.append({**{f: r[f] for f in KNEE_FIELDS if f in r}, "seed": k + 1})
                    b = run_booksim_point(booksim, fab, routing, pattern, load, tmp, seed=k, timeout=900)
                    if b:
                        rows.append({**{f: b[f] for f in KNEE_FIELDS if f in b}, "seed": k})
    with open(KNEE_CSV, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=KNEE_FIELDS)
        w.writeheader()
        w.writerows(rows)
    print("wrote", KNEE_CSV)
    knee_table(rows)


def knee_table(rows=None):
    """Per knee cell: each simulator's latency and accepted rate over the seeds, and the gap of the means."""
    if rows is None:
        with open(KNEE_CSV) as fh:
            rows = list(csv.DictReader(fh))
    for fab, routing, pattern, loads in KNEE:
        for load in loads:
            cell = {}
            for sim in ("booksim", "cmm"):
                rs = [r for r in rows if r["sim"] == sim and r["fabric"] == fab and r["routing"] == routing
                      and r["pattern"] == pattern and float(r["offered"]) == load]
                cell[sim] = ([float(r["latency"]) for r in rs], [float(r["accepted"]) for r in rs])
            if not cell["booksim"][0] or not cell["cmm"][0]:
                continue
            mb, mc = (sum(cell[s][0]) / len(cell[s][0]) for s in ("booksim", "cmm"))
            ab, ac = (sum(cell[s][1]) / len(cell[s][1]) for s in ("booksim", "cmm"))
            print(f"| {fab}, {routing} | {pattern} | {load} | "
                  + " / ".join(f"{v:.0f}" for v in cell["booksim"][0]) + f" (mean {mb:.1f}) | "
                  + " / ".join(f"{v:.0f}" for v in cell["cmm"][0]) + f" (mean {mc:.1f}) | {100 * (mc / mb - 1):+.1f} % | "
                  f"{ab:.4f} / {ac:.4f} | {100 * (ac / ab - 1):+.1f} % |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", default=os.path.join(ROOT, "build/tlm/cmm_topo"))
    ap.add_argument("--booksim", help="BookSim2 binary (else the CSV's BookSim2 rows are kept)")
    ap.add_argument("--plot-only", action="store_true")
    ap.add_argument("--only", help="fabric to (re)run: dragonfly or fat_tree")
    ap.add_argument("--booksim-only", action="store_true", help="rerun BookSim2 only, keep the CSV's CMM rows")
    ap.add_argument("--knee", action="store_true",
                    help="run the knee cells with 4 seeds on both sides (needs --booksim): docs/data/fabric_routing_knee.csv")
    ap.add_argument("--knee-table", action="store_true", help="print the knee table from its CSV")
    ap.add_argument("--pattern", choices=("uniform", "adversarial"), help="pattern to (re)run (default: both)")
    a = ap.parse_args()
    if a.knee_table:
        knee_table()
        return
    if a.knee:
        if not a.booksim:
            ap.error("--knee needs --booksim")
        run_knee(a.tool, a.booksim)
        return
    old = []
    if os.path.exists(CSV):
        with open(CSV) as fh:
            old = list(csv.DictReader(fh))
        for r in old:
            for k in ("offered", "accepted", "latency", "net_latency"):
                r[k] = float(r[k])
    rows = old
    if not a.plot_only:
        fabs = [a.only] if a.only else list(FABRICS)
        pats = (a.pattern,) if a.pattern else ("uniform", "adversarial")
        keep = [r for r in old if r["fabric"] not in fabs or r["pattern"] not in pats
                or (r["sim"] == "booksim" and not a.booksim) or (r["sim"] == "cmm" and a.booksim_only)]
        new = []
        with tempfile.TemporaryDirectory() as tmp:
            for fab in fabs:
                for pattern in pats:
                    for routing in FABRICS[fab]["routings"]:
                        if not a.booksim_only:
                            new += run_ours(a.tool, fab, routing, pattern)
                    if a.booksim:
                        for routing in FABRICS[fab]["booksim"]:
                            if fab == "fat_tree" and pattern != "uniform":
                                continue  # BookSim2 has no fat-tree uplink permutation
                            new += run_booksim(a.booksim, fab, routing, pattern, tmp)
        rows = keep + new
        os.makedirs(os.path.dirname(CSV), exist_ok=True)
        with open(CSV, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=FIELDS)
            w.writeheader()
            w.writerows(rows)
        print("wrote", CSV)
    for fab in FABRICS:
        plot([r for r in rows if r["fabric"] == fab], fab, os.path.join(HERE, f"fabric_routing_{fab}.svg"))


COLORS = {"minimal": "#1f77b4", "valiant": "#d62728", "ugal": "#2ca02c", "ugal, 4 VC sets": "#9467bd",
          "ugal, flowlets": "#98df8a",
          "ecmp": "#ff7f0e", "adaptive": "#2ca02c", "adaptive, flowlets": "#98df8a"}


def plot(rows, fab, out):
    """Four panels (latency, log; accepted) x (uniform, adversarial); ours
    solid, BookSim2 dashed with open markers."""
    W, H, M = 1000, 720, 62
    pw, ph = (W - 3 * M) / 2, (H - 4 * M) / 2
    xmax = 0.8
    it = [f'<rect width="{W}" height="{H}" fill="white"/>',
          f'<text x="{W / 2}" y="20" font-size="15" text-anchor="middle" font-family="sans-serif">'
          f'{fab}: CMM Noc (solid) and BookSim2 (dashed, open marks)</text>']

    def panel(x0, y0, title, key, log, pattern, ymin, ymax, ticks):
        def X(v):
            return x0 + pw * v / xmax

        def Y(v):
            v = min(max(v, ymin), ymax)
            f = (math.log10(v / ymin) / math.log10(ymax / ymin)) if log else (v - ymin) / (ymax - ymin)
            return y0 + ph * (1 - f)
        it.append(f'<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
        for t in [0, 0.2, 0.4, 0.6, 0.8]:
            it.append(f'<line x1="{X(t):.1f}" y1="{y0}" x2="{X(t):.1f}" y2="{y0 + ph}" stroke="#eee"/>')
            it.append(f'<text x="{X(t):.1f}" y="{y0 + ph + 15}" font-size="11" text-anchor="middle" '
                      f'font-family="sans-serif">{t}</text>')
        for t in ticks:
            it.append(f'<line x1="{x0}" y1="{Y(t):.1f}" x2="{x0 + pw}" y2="{Y(t):.1f}" stroke="#eee"/>')
            it.append(f'<text x="{x0 - 5}" y="{Y(t) + 4:.1f}" font-size="11" text-anchor="end" '
                      f'font-family="sans-serif">{t}</text>')
        it.append(f'<text x="{x0 + pw / 2}" y="{y0 - 8}" font-size="12" text-anchor="middle" '
                  f'font-family="sans-serif">{title}</text>')
        it.append(f'<text x="{x0 + pw / 2}" y="{y0 + ph + 30}" font-size="11" text-anchor="middle" '
                  f'font-family="sans-serif">offered load (flits/terminal/cycle)</text>')
        for routing in COLORS:
            for sim, dash in (("cmm", ""), ("booksim", ' stroke-dasharray="6 4"')):
                pts = sorted((r for r in rows if r["routing"] == routing and r["sim"] == sim
                              and r["pattern"] == pattern), key=lambda r: r["offered"])
                if not pts:
                    continue
                c = COLORS[routing]
                d = " ".join(f'{"M" if k == 0 else "L"} {X(r["offered"]):.1f} {Y(r[key]):.1f}'
                             for k, r in enumerate(pts))
                it.append(f'<path d="{d}" fill="none" stroke="{c}" stroke-width="1.6"{dash}/>')
                for r in pts:
                    fill = c if sim == "cmm" else "white"
                    it.append(f'<circle cx="{X(r["offered"]):.1f}" cy="{Y(r[key]):.1f}" r="2.6" fill="{fill}" '
                              f'stroke="{c}"/>')
    lat = [r["latency"] for r in rows] or [100]
    lmin = 10 ** math.floor(math.log10(max(1, min(lat))))
    lticks = [t for t in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000) if lmin <= t <= 5000]
    for i, pattern in enumerate(("uniform", "adversarial")):
        x0 = M + i * (pw + M)
        panel(x0, 2 * M, f"{pattern}: mean packet latency (cycles, log; creation to delivery)", "latency", True,
              pattern, lmin, 5000, lticks)
        panel(x0, 3 * M + ph, f"{pattern}: accepted throughput (flits/terminal/cycle)", "accepted", False,
              pattern, 0, 0.8, [0, 0.2, 0.4, 0.6, 0.8])
    y = 2 * M + 8
    for routing, c in COLORS.items():
        if not any(r["routing"] == routing for r in rows):
            continue
        y += 14
        it.append(f'<line x1="{M + 8}" y1="{y}" x2="{M + 34}" y2="{y}" stroke="{c}" stroke-width="1.6"/>')
        it.append(f'<text x="{M + 40}" y="{y + 4}" font-size="10" font-family="sans-serif">{routing}</text>')
    with open(out, "w") as fh:
        fh.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">\n')
        fh.write("\n".join(it) + "\n</svg>\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
