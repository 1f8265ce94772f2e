#!/usr/bin/env python3
"""Latency versus offered load: the Noc's pipelined router against BookSim2's
`iq` router (and the default 1-cycle router), issue 11 item 2,
docs/fabric.md "Calibration against BookSim2".

Workload: k x k mesh (4x4, 8x8), XY, uniform destinations over all nodes
(the source included, as BookSim2's `uniform`), 8-flit packets of 16 B,
1 VC, 4-flit buffers, link latency 1, Bernoulli sources, 10k warm-up + 90k
measured cycles, latency from creation (source queueing included).

The CSV (docs/data/booksim-calibration.csv) holds one row per simulator,
mesh and load: simulator,mesh,load_packets,offered_flits,accepted_flits,
lat_mean,unfinished. The BookSim2 rows are measured figures (BookSim2 is not
part of this project); `--run BUILD` re-measures the project's rows
(`pipeline`, `simple`) with BUILD/tlm/noc_load and rewrites them in place.

Usage: tlm/bench/plot_calibration.py [--csv F] [--out PNG] [--run BUILD]
"""
import argparse
import csv
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIELDS = ["simulator", "mesh", "load_packets", "offered_flits", "accepted_flits", "lat_mean", "unfinished"]
LOADS = {4: [0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.0275, 0.03, 0.0325, 0.035, 0.04, 0.05, 0.0625],
         8: [0.00125, 0.0025, 0.005, 0.0075, 0.01, 0.012, 0.0135, 0.015, 0.0175, 0.02, 0.025, 0.03]}
ROUTER = {"pipeline": ["--router", "pipeline", "--rc", "1", "--va", "1", "--sa", "1", "--st", "1",
                       "--credit-delay", "0", "--alloc-iters", "1"],
          "simple": ["--router", "simple", "--router-delay", "1"]}


def measure(build, sim, k, load):
    cmd = [os.path.join(build, "tlm", "noc_load"), "--topology", "mesh", "--x", str(k), "--y", str(k), "--vcs", "1",
           "--depth", "4", "--width", "16", "--link-latency", "1", "--packet-bytes", "128", "--loads",
           repr(load * 8), "--warmup", "10000", "--measure", "90000", "--drain", "20000", "--include-self",
           "--seed", "1"] + ROUTER[sim]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()
    row = dict(zip(out[0].split(","), out[1].split(",")))
    return {"simulator": sim, "mesh": f"{k}x{k}", "load_packets": load, "offered_flits": f"{load * 8:.4f}",
            "accepted_flits": f"{float(row['accepted']):.4f}", "lat_mean": f"{float(row['lat_mean']):.2f}",
            "unfinished": row["unfinished"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv", default=os.path.join(ROOT, "docs", "data", "booksim-calibration.csv"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "img", "booksim-calibration.png"))
    ap.add_argument("--run", metavar="BUILD", help="re-measure the project's rows with BUILD/tlm/noc_load")
    a = ap.parse_args()
    with open(a.csv) as f:
        rows = list(csv.DictReader(f))
    if a.run:
        rows = [r for r in rows if r["simulator"] not in ROUTER]
        for sim in ROUTER:
            for k, loads in LOADS.items():
                for ld in loads:
                    rows.append(measure(a.run, sim, k, ld))
                    sys.stderr.write(f"{sim} {k}x{k} {ld}: {rows[-1]['lat_mean']}\n")
        with open(a.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    style = {"booksim": ("BookSim2 iq router (1/1/1/1, credit delay 0)", "k", "o", "-"),
             "pipeline": ("Noc pipeline router (1/1/1/1, credit delay 0)", "tab:red", "x", "--"),
             "simple": ("Noc simple 1-cycle router (default)", "tab:blue", "s", ":")}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, mesh in zip(axes, ["4x4", "8x8"]):
        for sim, (label, color, marker, ls) in style.items():
            pts = sorted((float(r["offered_flits"]), float(r["lat_mean"])) for r in rows
                         if r["simulator"] == sim and r["mesh"] == mesh)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], color=color, marker=marker, ls=ls, label=label,
                        ms=5)
        ax.set_title(f"{mesh} mesh, XY, uniform, 8-flit packets, 1 VC, 4-flit buffers")
        ax.set_xlabel("offered load (flits/node/cycle)")
        ax.set_ylabel("average packet latency (cycles, from creation)")
        ax.set_ylim(0, 200)
        ax.grid(alpha=0.3)
        ax.title.set_fontsize(9)
    axes[0].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    fig.savefig(a.out, dpi=110)
    print(a.out)


if __name__ == "__main__":
    main()
