#!/usr/bin/env python3
"""Draws the switched-fabric figures of docs/fabric.md as plain SVG from the
graphs cmm_topo dumps (the simulator's own graphs, so a figure cannot drift
from the model). Standard library only.

  python3 docs/img/gen_fabric_figures.py --tool build/tlm/cmm_topo
"""
import argparse
import json
import math
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

FIGS = {
    "fabric_fat_tree.svg": ["--topology", "fat_tree", "--ft-k", "4", "--ft-levels", "2"],
    "fabric_fat_tree3.svg": ["--topology", "fat_tree", "--ft-k", "2", "--ft-levels", "3"],
    "fabric_dragonfly.svg": ["--topology", "dragonfly", "--df-a", "4", "--df-p", "2", "--df-h", "2"],
    "fabric_flatfly.svg": ["--topology", "flatfly", "--fb-k", "4", "--fb-n", "2", "--fb-c", "1"],
    "fabric_file_ring4.svg": ["--topology", "file", "--topo-file", os.path.join(ROOT, "docs/examples/ring4.topo")],
}


class Svg:
    def __init__(self, w, h, title):
        self.w, self.h = w, h
        self.items = [f'<rect x="0" y="0" width="{w}" height="{h}" fill="white"/>',
                      f'<text x="{w / 2}" y="22" text-anchor="middle" font-size="15" '
                      f'font-family="sans-serif">{title}</text>']

    def line(self, a, b, color="#555", width=1.0, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.items.append(f'<line x1="{a[0]:.1f}" y1="{a[1]:.1f}" x2="{b[0]:.1f}" y2="{b[1]:.1f}" '
                          f'stroke="{color}" stroke-width="{width}"{d}/>')

    def path(self, d, color="#555", width=1.0):
        self.items.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="{width}"/>')

    def node(self, p, kind, label=None, r=None):
        if kind == "switch":
            s = r or 9
            self.items.append(f'<rect x="{p[0] - s:.1f}" y="{p[1] - s:.1f}" width="{2 * s}" height="{2 * s}" '
                              f'fill="#cfe3ff" stroke="#234" stroke-width="1"/>')
        else:
            self.items.append(f'<circle cx="{p[0]:.1f}" cy="{p[1]:.1f}" r="{r or 5}" fill="#ffd9a8" '
                              f'stroke="#633" stroke-width="1"/>')
        if label is not None:
            self.text((p[0], p[1] + 4), label, 9)

    def text(self, p, s, size=11, anchor="middle"):
        self.items.append(f'<text x="{p[0]:.1f}" y="{p[1]:.1f}" text-anchor="{anchor}" font-size="{size}" '
                          f'font-family="sans-serif">{s}</text>')

    def save(self, path):
        with open(path, "w") as f:
            f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
                    f'viewBox="0 0 {self.w} {self.h}">\n')
            f.write("\n".join(self.items))
            f.write("\n</svg>\n")


def links(g):
    """Undirected links (one per channel pair)."""
    seen, out = set(), []
    for c in g["channels"]:
        k = (min(c["r"], c["r2"]), max(c["r"], c["r2"]), min(c["p"], c["p2"]) if c["r"] == c["r2"] else 0)
        a, b = (c["r"], c["p"]), (c["r2"], c["p2"])
        key = (min(a, b), max(a, b))
        if key in seen:
            continue
        seen.add(key)
        out.append(c)
    return out


def fat_tree(g, title):
    T, p = g["terminals"], g["params"]
    n, t = p["ft_levels"], p["ft_terminals"]
    S = (g["routers"] - T) // n
    w = max(600, 34 * T + 60)
    h = 120 + 90 * n
    svg = Svg(w, h, title)
    pos = {}
    for i in range(T):
        pos[i] = (30 + (w - 60) * (i + 0.5) / T, h - 30)
    for r in range(T, g["routers"]):
        lvl, idx = divmod(r - T, S)
        pos[r] = (30 + (w - 60) * (idx + 0.5) / S, h - 30 - 90 * (lvl + 1))
    for c in links(g):
        up = c["r"] < T or c["r2"] < T
        svg.line(pos[c["r"]], pos[c["r2"]], "#999" if up else "#335", 1.0)
    for r, q in pos.items():
        svg.node(q, "term" if r < T else "switch", str(r if r < T else r - T))
    for lvl in range(n):
        svg.text((8, h - 30 - 90 * (lvl + 1) + 4), f"L{lvl}", 11, "start")
    return svg


def dragonfly(g, title):
    T, p = g["terminals"], g["params"]
    a, pp = p["df_a"], p["df_p"]
    G = (g["routers"] - T) // a
    w = h = 640
    cx, cy, R, r0 = w / 2, h / 2 + 10, 240, 42
    pos = {}
    for grp in range(G):
        ang = 2 * math.pi * grp / G - math.pi / 2
        gx, gy = cx + R * math.cos(ang), cy + R * math.sin(ang)
        for k in range(a):
            b = ang + 2 * math.pi * (k + 0.5) / a
            pos[T + grp * a + k] = (gx + r0 * 0.55 * math.cos(b), gy + r0 * 0.55 * math.sin(b))
        for t in range(a * pp):
            b = ang + 2 * math.pi * (t + 0.5) / (a * pp)
            pos[grp * a * pp + t] = (gx + r0 * 1.25 * math.cos(b), gy + r0 * 1.25 * math.sin(b))
    svg = Svg(w, h, title)
    for c in links(g):
        if c["bump"]:
            svg.line(pos[c["r"]], pos[c["r2"]], "#c33", 0.8)
    for c in links(g):
        if not c["bump"]:
            svg.line(pos[c["r"]], pos[c["r2"]], "#999" if min(c["r"], c["r2"]) < T else "#335", 1.0)
    for r, q in pos.items():
        svg.node(q, "term" if r < T else "switch", None, 3 if r < T else 6)
    for grp in range(G):
        ang = 2 * math.pi * grp / G - math.pi / 2
        svg.text((cx + (R + 75) * math.cos(ang), cy + (R + 75) * math.sin(ang) + 4), f"group {grp}", 11)
    svg.text((w / 2, h - 8), "red: global links (VC set 1 from here on); blue: local; grey: terminal links", 11)
    return svg


def flatfly(g, title):
    T, p = g["terminals"], g["params"]
    k, n, cc = p["fb_k"], p["fb_n"], p["fb_c"]
    if n != 2:
        raise SystemExit("flatfly figure: 2 dimensions only")
    w = h = 520
    step = (w - 160) / (k - 1)
    pos = {}
    for r in range(g["routers"] - T):
        x, y = r % k, r // k
        pos[T + r] = (80 + step * x, 90 + step * y)
    for t in range(T):
        sx, sy = pos[T + t // cc]
        pos[t] = (sx - 22, sy - 22 + 10 * (t % cc))
    svg = Svg(w, h, title)
    for c in links(g):
        a_, b_ = pos[c["r"]], pos[c["r2"]]
        if min(c["r"], c["r2"]) < T:
            svg.line(a_, b_, "#999")
            continue
        # Arcs so that links of one row or column do not overlap.
        mx, my = (a_[0] + b_[0]) / 2, (a_[1] + b_[1]) / 2
        d = math.hypot(b_[0] - a_[0], b_[1] - a_[1])
        bend = 0.0 if d <= step * 1.01 else 0.18 * d
        nx, ny = (-(b_[1] - a_[1]) / d, (b_[0] - a_[0]) / d)
        svg.path(f"M {a_[0]:.1f} {a_[1]:.1f} Q {mx + nx * bend:.1f} {my + ny * bend:.1f} {b_[0]:.1f} {b_[1]:.1f}",
                 "#335", 1.0)
    for r, q in pos.items():
        svg.node(q, "term" if r < T else "switch", str(r if r < T else r - T))
    return svg


def generic(g, title):
    T = g["terminals"]
    S = g["routers"] - T
    w = h = 520
    cx, cy = w / 2, h / 2 + 10
    pos = {}
    for s in range(S):
        ang = 2 * math.pi * s / S - math.pi / 2
        pos[T + s] = (cx + 150 * math.cos(ang), cy + 150 * math.sin(ang))
    att = {}
    for c in g["channels"]:
        if c["r"] < T:
            att[c["r"]] = c["r2"]
    count = {}
    for t in range(T):
        s = att[t]
        j = count.get(s, 0)
        count[s] = j + 1
        ang = math.atan2(pos[s][1] - cy, pos[s][0] - cx) + (j - 0.5) * 0.35
        pos[t] = (cx + 215 * math.cos(ang), cy + 215 * math.sin(ang))
    svg = Svg(w, h, title)
    for c in links(g):
        lbl = []
        if c["latency"] != 1:
            lbl.append(f'{c["latency"]} cyc')
        if c["cycles_per_flit"] != 1:
            lbl.append(f'{c["cycles_per_flit"]} cyc/flit')
        term = min(c["r"], c["r2"]) < T
        svg.line(pos[c["r"]], pos[c["r2"]], "#999" if term else "#335", 1.0 if term else 2.0)
        if lbl and not term:
            m = ((pos[c["r"]][0] + pos[c["r2"]][0]) / 2, (pos[c["r"]][1] + pos[c["r2"]][1]) / 2)
            svg.text((m[0], m[1] - 6), ", ".join(lbl), 10)
    for r, q in pos.items():
        svg.node(q, "term" if r < T else "switch", f"t{r}" if r < T else f"s{r - T}", 12 if r >= T else 9)
    return svg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", default=os.path.join(ROOT, "build/tlm/cmm_topo"))
    ap.add_argument("--out", default=HERE)
    a = ap.parse_args()
    for name, args in FIGS.items():
        g = json.loads(subprocess.run([a.tool, "--dump-json"] + args, check=True, capture_output=True,
                                      text=True).stdout)
        T, R = g["terminals"], g["routers"] - g["terminals"]
        title = f'{g["name"]}: {T} terminals, {R} switches, radix {max(g["radix"][T:])}'
        if g["name"] == "fat_tree":
            p = g["params"]
            title = f'{p["ft_k"]}-ary {p["ft_levels"]}-tree fat-tree: ' + title.split(": ", 1)[1]
            svg = fat_tree(g, title)
        elif g["name"] == "dragonfly":
            p = g["params"]
            title = f'dragonfly a={p["df_a"]} p={p["df_p"]} h={p["df_h"]}, absolute: ' + title.split(": ", 1)[1]
            svg = dragonfly(g, title)
        elif g["name"] == "flatfly":
            svg = flatfly(g, "flattened butterfly 4-ary 2-flat: " + title.split(": ", 1)[1])
        else:
            svg = generic(g, "docs/examples/ring4.topo: " + title.split(": ", 1)[1])
        svg.save(os.path.join(a.out, name))
        print("wrote", os.path.join(a.out, name))


if __name__ == "__main__":
    main()
