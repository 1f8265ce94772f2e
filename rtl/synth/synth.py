#!/usr/bin/env python3
"""Synthesizes rtl/cmm_core.sv with yosys (generic `synth`) at a small table
geometry and checks the result: yosys succeeds, the netlist has cells and
flip-flops, and no latches. Prints the cell and flip-flop counts.

The small geometry is a variant of the generated package (gen_regs.py
--geometry ...): same RTL, same register map, fewer/shallower tables.
With --core-cache DIR the core is read from the elaboration (`prep`) that
scripts/formal caches there (content-addressed: the same sources and
geometry give the same file; built here under its lock if missing), so the
suite elaborates the core once for synthesis and the formal checks.
Exit 77 (CTest: skipped) when yosys is not installed. Standard library only.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", required=True, help="hw/data/cmm.toml")
    ap.add_argument("--gen", required=True, help="scripts/gen_regs.py")
    ap.add_argument("--rtl", required=True, help="rtl/cmm_core.sv")
    ap.add_argument("--geometry", default="", help="gen_regs.py --geometry overrides")
    ap.add_argument("--out", required=True, help="work directory (package variant, log, stat)")
    ap.add_argument("--yosys", default=shutil.which("yosys"))
    ap.add_argument("--strong", action="store_true",
                    help="STRONG = 1 (strong mode: MAC engines, key wraps, link-key table); long run, not in rtl_synth")
    ap.add_argument("--core-cache", metavar="DIR",
                    help="read the core elaborated by scripts/formal into DIR (elaborated there if missing); "
                         "not with --strong")
    a = ap.parse_args()
    if not a.yosys:
        print("SKIPPED: yosys not installed (scripts/setup installs Debian's yosys)")
        return 77
    os.makedirs(a.out, exist_ok=True)
    pkg = os.path.join(a.out, "cmm_pkg.sv")
    imp = os.path.join(a.out, "cmm_pkg_import.svh")
    cmd = [sys.executable, a.gen, a.data, "--sv", pkg, "--sv-import", imp]
    if a.geometry:
        cmd += ["--geometry", a.geometry]
    subprocess.run(cmd, check=True)
    stat = os.path.join(a.out, "stat.txt")
    log = os.path.join(a.out, "yosys.log")
    # The key generator's SipHash engine is a submodule (rtl/cmm_siphash.sv): flattened, one cell count.
    # Strong mode's MAC modules (rtl/cmm_mac_*.sv): instantiated only with STRONG = 1.
    rdir = os.path.dirname(a.rtl)
    sip = os.path.join(rdir, "cmm_siphash.sv")
    macs = [os.path.join(rdir, f) for f in ("cmm_mac_pkg.sv", "cmm_mac_hdr.sv", "cmm_mac_keywrap.sv",
                                            "cmm_mac_engine.sv")]
    extra = [f for f in [sip] + macs if os.path.exists(f)]
    if a.core_cache and not a.strong:
        # scripts/formal's core_rtlil (no .py suffix: loaded by path).
        import importlib.machinery
        import importlib.util
        path = os.path.join(os.path.dirname(os.path.abspath(a.gen)), "formal")
        loader = importlib.machinery.SourceFileLoader("cmm_formal", path)
        formal = importlib.util.module_from_spec(importlib.util.spec_from_loader("cmm_formal", loader))
        loader.exec_module(formal)
        il, spent = formal.core_rtlil(a.core_cache, pkg, imp, sip, a.rtl,
                                      os.path.join(rdir, "formal"), a.out)
        print(f"core: {il} ({'elaborated in %.0f s' % spent if spent else 'cached'})", flush=True)
        read = f"read_rtlil {il}; "
    else:
        read = (f"read_verilog -sv {pkg}; " + "".join(f"read_verilog -sv {f}; " for f in extra)
                + f"read_verilog -sv -I{a.out} {a.rtl}; "
                + ("chparam -set STRONG 1 cmm_core; " if a.strong else ""))
    script = read + f"synth -flatten -top cmm_core; tee -q -o {stat} stat"
    print(f"yosys -p '{script}'  (geometry: {a.geometry or 'full'})", flush=True)
    t0 = time.monotonic()
    r = subprocess.run([a.yosys, "-q", "-l", log, "-p", script], stdout=subprocess.DEVNULL,
                       stderr=subprocess.STDOUT)
    secs = time.monotonic() - t0
    if r.returncode != 0:
        with open(log) as f:
            tail = f.read()[-3000:]
        print(f"FAIL: yosys exited with {r.returncode}; log {log}:\n{tail}")
        return 1
    with open(stat) as f:
        text = f.read()
    cells = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s+(\$\S+)\s+(\d+)\s*$", text, re.M)}
    m = re.search(r"Number of cells:\s+(\d+)", text)
    total = int(m.group(1)) if m else 0
    ffs = sum(n for c, n in cells.items() if re.match(r"\$_(S?DFF|DFFE|SDFFE|SDFFCE|ALDFF|DFFSR)", c))
    latches = sum(n for c, n in cells.items() if "LATCH" in c.upper())
    print(text)
    with open(log) as f:
        spent = re.findall(r"^Time spent: .*$", f.read(), re.M)
    if spent:
        print(f"yosys {spent[-1]}")
    print(f"synth: {total} cells, {ffs} flip-flops, {latches} latches, {secs:.0f} s")
    ok = True
    if total == 0:
        print("FAIL: no cells")
        ok = False
    if ffs == 0:
        print("FAIL: no flip-flops")
        ok = False
    if latches:
        print("FAIL: latches inferred (the core has none by design)")
        ok = False
    with open(log) as f:
        if re.search(r"Latch inferred for signal", f.read()):
            print("FAIL: yosys inferred a latch (see the log)")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
