#!/usr/bin/env python3
"""Tests of scripts/sweep, scripts/plot and cmm_sweep_lib (unittest, stdlib).

  python3 scripts/test_sweep.py                 # all pure tests (a fake cmmsim)
  python3 scripts/test_sweep.py GridTests       # one class
  CMM_SWEEP_CMMSIM=build/testbench/cmmsim python3 scripts/test_sweep.py SystemTest
"""

import csv
import io
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import cmm_sweep_lib as lib  # noqa: E402

SWEEP = os.path.join(HERE, "sweep")
PLOT = os.path.join(HERE, "plot")

# A stand-in for cmmsim: accepts --set K=V, --seed N, --messages N, -q, -o DIR,
# --dump-config; refuses the key 'bogus' (exit 2) and fails (exit 1, no
# row.csv) for --set fail=1. Its row.csv has config_<key> columns for the keys
# it was given, config_seed and a few results (latency = 10 * lat + seed).
FAKE_CMMSIM = textwrap.dedent('''\
    #!/usr/bin/env python3
    import os, sys
    a = sys.argv[1:]
    sets, seed, out, dump, extra = [], "1", None, False, {}
    i = 0
    while i < len(a):
        if a[i] == "--set":
            k, v = a[i + 1].split("=", 1); sets.append((k, v)); i += 2
        elif a[i] == "--seed":
            seed = a[i + 1]; i += 2
        elif a[i] == "-o":
            out = a[i + 1]; i += 2
        elif a[i] == "--messages":
            extra["messages"] = a[i + 1]; i += 2
        elif a[i] == "--dump-config":
            dump = True; i += 1
        elif a[i] == "-q":
            i += 1
        else:
            print("fake: unknown arg", a[i], file=sys.stderr); sys.exit(2)
    for k, v in sets:
        if k == "bogus":
            print(f"cmmsim: configuration error: --set '{k}={v}': 'bogus' is not a top-level scalar key",
                  file=sys.stderr)
            sys.exit(2)
    if dump:
        print("{}"); sys.exit(0)
    d = dict(sets)
    if d.get("fail") == "1":
        print("error: told to fail", file=sys.stderr); sys.exit(1)
    os.makedirs(out, exist_ok=True)
    lat = float(d.get("lat", "1"))
    cols = [("config_" + k, v) for k, v in sets] + [("config_seed", seed)]
    if "extra_col" in d:
        cols.append(("extra_result", "7"))
    cols += [("messages_delivered", extra.get("messages", "5")), ("delivered_per_cycle", str(lat / 100)),
             ("latency_mean", str(10 * lat + int(seed))), ("scoreboard_clean", "1")]
    with open(os.path.join(out, "row.csv"), "w") as f:
        f.write(",".join(c for c, _ in cols) + "\\n" + ",".join(v for _, v in cols) + "\\n")
    # stats.json as cmmsim writes it: {value, unit, desc} leaves (load = lat / 1000 per terminal).
    st = lambda v, u, dsc: {"value": v, "unit": u, "desc": dsc}
    load = lat / 1000
    stats = {"seed": int(seed), "scenario": "fake",
             "latency": {"mean": st(10 * lat + int(seed), "cycles", "mean"), "p50": st(9 * lat, "cycles", "median"),
                         "p99": st(20 * lat, "cycles", "99th percentile"), "max": st(30 * lat, "cycles", "maximum")},
             "latency_parts": {k: {"desc": k + " part", "mean": st(m * (10 * lat + int(seed)), "cycles", "mean")}
                               for k, m in (("source", 0.5), ("fabric", 0.3), ("pipeline", 0.2))},
             "load": {"offered_msgs": st(load * (1 + int(seed) / 100), "messages/cycle/terminal", "messages created"),
                      "accepted_msgs": st(min(load, 0.004), "messages/cycle/terminal", "messages delivered")},
             "system": {"rejects": {"BAD_KEY": st(2, "packets", "rejections with this reason, all CMMs")}},
             "fabric": {"x": st(2, "routers", "routers per row"), "y": st(2, "routers", "rows")},
             "nodes": [{"node": f"n{i}", "id": st(i, "id", "node id"),
                        "accepted_bytes_per_cycle": st(lat * (i + 1), "bytes/cycle", "bytes received"),
                        "rejects": {"BAD_KEY": st(i, "packets", "rejected with reason ")},
                        "partitions": [{"alarms": st(0, "alarms", "alarms")}]} for i in range(4)]}
    if "nostats" not in d:
        import json
        with open(os.path.join(out, "stats.json"), "w") as f:
            json.dump(stats, f, indent=1, sort_keys=True)
    print("cmmsim: fake run", " ".join(a))
''')


def make_fake(dirpath):
    p = os.path.join(dirpath, "fakecmmsim")
    with open(p, "w") as f:
        f.write(FAKE_CMMSIM.replace("#!/usr/bin/env python3", "#!" + sys.executable, 1))
    os.chmod(p, os.stat(p).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return p


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120, **kw)


def read_sweep_csv(path):
    with open(path, newline="") as f:
        r = csv.reader(f)
        rows = list(r)
    return rows[0], [dict(zip(rows[0], v)) for v in rows[1:]]


class TmpCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cmm-sweep-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)


# --------------------------------------------------------------------------

class GridTests(unittest.TestCase):
    def test_parse_set(self):
        self.assertEqual(lib.parse_set("topology=ring, mesh,torus"), ("topology", ["ring", "mesh", "torus"]))
        self.assertEqual(lib.parse_set("name=a=b"), ("name", ["a=b"]))
        for bad in ("topology", "=mesh", "topology=", "topology=a,,b", "topology=a,"):
            with self.assertRaises(lib.SweepError, msg=bad):
                lib.parse_set(bad)

    def test_parse_range(self):
        self.assertEqual(lib.parse_range("l=2:10:4"), ("l", ["2", "6", "10"]))
        self.assertEqual(lib.parse_range("l=2:9:4"), ("l", ["2", "6"]))
        self.assertEqual(lib.parse_range("r=0.1:0.5:0.1")[1], ["0.1", "0.2", "0.3", "0.4", "0.5"])
        self.assertEqual(lib.parse_range("r=1:2:0.25")[1], ["1.00", "1.25", "1.50", "1.75", "2.00"])
        self.assertEqual(lib.parse_range("r=5:1:-2")[1], ["5", "3", "1"])
        self.assertEqual(lib.parse_range("r=-1:1:1")[1], ["-1", "0", "1"])
        self.assertEqual(lib.parse_range("r=3:3:1")[1], ["3"])
        for bad in ("r=1:5", "r=1:5:0", "r=5:1:1", "r=a:5:1", "r=1:5:1:2", "r=1:inf:1", "r=0:1e9:1"):
            with self.assertRaises(lib.SweepError, msg=bad):
                lib.parse_range(bad)

    def test_parse_seeds(self):
        self.assertEqual(lib.parse_seeds("4"), [1, 2, 3, 4])
        self.assertEqual(lib.parse_seeds("1,5,2"), [1, 5, 2])
        self.assertEqual(lib.parse_seeds("5:7"), [5, 6, 7])
        self.assertEqual(lib.parse_seeds("0,1"), [0, 1])
        for bad in ("", "0", "a", "1,1", "3:1", "-1,2", "1.5"):
            with self.assertRaises(lib.SweepError, msg=bad):
                lib.parse_seeds(bad)

    def test_grid_add_validation(self):
        g = lib.Grid()
        g.add("topology", ["ring"], "t")
        for key, vals in (("topology", ["mesh"]), ("seed", ["1"]), ("bad key", ["1"]), ("x", []),
                          ("y", ["1", "1"]), ("z", ["a\nb"])):
            with self.assertRaises(lib.SweepError, msg=key):
                g.add(key, vals, "t")

    def test_expand_order_and_args(self):
        g = lib.Grid()
        g.add("a", ["1", "2"], "t")
        g.add("b", ["x", "y", "z"], "t")
        g.seeds = [3, 4]
        g.args = ["--messages", "20"]
        jobs = lib.expand(g)
        self.assertEqual(len(jobs), 12)
        self.assertEqual(g.size(), 12)
        self.assertEqual([j.name for j in jobs[:4]], ["a=1,b=x,seed=3", "a=1,b=x,seed=4", "a=1,b=y,seed=3",
                                                      "a=1,b=y,seed=4"])
        self.assertEqual(jobs[-1].name, "a=2,b=z,seed=4")
        self.assertEqual(jobs[0].argv, ["--set", "a=1", "--set", "b=x", "--seed", "3", "--messages", "20"])
        self.assertEqual([j.name for j in lib.expand(g)], [j.name for j in jobs])  # deterministic

    def test_expand_without_seeds(self):
        g = lib.Grid()
        g.add("a", ["1", "2"], "t")
        jobs = lib.expand(g)
        self.assertEqual([j.name for j in jobs], ["a=1", "a=2"])
        self.assertNotIn("--seed", jobs[0].argv)

    def test_seeds_only_and_empty(self):
        g = lib.Grid()
        with self.assertRaises(lib.SweepError) as cm:
            lib.expand(g)
        self.assertIn("empty grid", str(cm.exception))
        g.seeds = [1, 2]
        self.assertEqual([j.name for j in lib.expand(g)], ["seed=1", "seed=2"])

    def test_extra_args_conflicts(self):
        for args, seeds in ((["-o", "x"], None), (["--out=x"], None), (["-q"], None), (["--seed", "3"], [1]),
                            (["--set", "a=5"], None), (["--set=a=5"], None)):
            g = lib.Grid()
            g.add("a", ["1"], "t")
            g.seeds = seeds
            g.args = args
            with self.assertRaises(lib.SweepError, msg=str(args)):
                lib.check_extra_args(g)
        g = lib.Grid()
        g.add("a", ["1"], "t")
        g.args = ["--seed", "3", "--set", "b=2", "--messages", "20"]
        lib.check_extra_args(g)

    def test_grid_file(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "g.json")
            with open(p, "w") as f:
                json.dump({"set": {"topology": ["ring", "mesh"], "clock_ghz": 1.5, "flag": True},
                           "range": {"link_latency_cycles": "2:6:2"}, "seeds": [7, 8],
                           "args": ["--messages", "20"]}, f)
            g = lib.load_grid_file(p, lib.Grid())
            self.assertEqual(g.params, [("topology", ["ring", "mesh"]), ("clock_ghz", ["1.5"]), ("flag", ["true"]),
                                        ("link_latency_cycles", ["2", "4", "6"])])
            self.assertEqual(g.seeds, [7, 8])
            self.assertEqual(g.args, ["--messages", "20"])
            for bad in ({"sets": {}}, {"set": {"a": [[1]]}}, {"set": []}, {"seeds": "x"},
                        {"args": "--messages 5"}, [1], {"range": {"a": "1:2"}}):
                with open(p, "w") as f:
                    json.dump(bad, f)
                with self.assertRaises(lib.SweepError, msg=str(bad)):
                    lib.load_grid_file(p, lib.Grid())
            with open(p, "w") as f:
                f.write("{not json")
            with self.assertRaises(lib.SweepError) as cm:
                lib.load_grid_file(p, lib.Grid())
            self.assertIn("line 1", str(cm.exception))


class NamingTests(unittest.TestCase):
    def test_name(self):
        self.assertEqual(lib.run_name([("topology", "mesh"), ("link_latency_cycles", "4")], 2),
                         "topology=mesh,link_latency_cycles=4,seed=2")
        self.assertEqual(lib.run_name([("r", "0.25")], None), "r=0.25")

    def test_unsafe_characters(self):
        self.assertEqual(lib.run_name([("name", "a b/c'd")], 1), "name=a_b_c_d,seed=1")
        g = lib.Grid()
        g.add("name", ["a b", "a/b"], "t")
        with self.assertRaises(lib.SweepError) as cm:
            lib.expand(g)
        self.assertIn("same folder name", str(cm.exception))

    def test_long_name_is_unique(self):
        a = lib.run_name([("k", "x" * 300)], 1)
        b = lib.run_name([("k", "x" * 299 + "y")], 1)
        self.assertLessEqual(len(a), lib.MAX_NAME)
        self.assertNotEqual(a, b)

    def test_natural_sort(self):
        names = ["seed=10", "seed=2", "seed=1", "a=b"]
        self.assertEqual(sorted(names, key=lib.natural_key), ["a=b", "seed=1", "seed=2", "seed=10"])


class QuotingTests(TmpCase):
    def test_line_plain_has_no_quotes(self):
        line = lib.job_line("/opt/cmm/cmmsim", "/r/runs/topology=mesh,seed=1",
                            ["--set", "topology=mesh", "--seed", "1", "--messages", "20"])
        self.assertFalse(lib.needs_quotes(line))
        self.assertIn("/opt/cmm/cmmsim --set topology=mesh --seed 1 --messages 20 -q -o /r/runs/topology=mesh,seed=1 ",
                      line)
        self.assertNotIn("\n", line)

    def test_line_quotes_special_arguments(self):
        line = lib.job_line("/my dir/cmmsim", "/o/runs/x", ["--set", "name=it's; rm -rf /"])
        self.assertTrue(lib.needs_quotes(line))
        toks = shlex.split(line)
        self.assertIn("/my dir/cmmsim", toks)
        self.assertIn("name=it's; rm -rf /", toks)

    def _lines(self, argvs, outdir):
        fake = make_fake(self.tmp)
        return [lib.job_line(fake, os.path.join(outdir, "runs", n), a) for n, a in argvs]

    def _check_runs(self, outdir, expect):
        for name, col, val in expect:
            d = os.path.join(outdir, "runs", name)
            with open(os.path.join(d, "exit_status")) as f:
                self.assertEqual(f.read().strip(), "0")
            row = lib.read_row_csv(os.path.join(d, "row.csv"))
            self.assertEqual(row[col], val)

    def test_runs_with_sh_and_plain_xargs(self):
        out = os.path.join(self.tmp, "out")
        lines = self._lines([("a=1", ["--set", "a=1"]), ("a=2", ["--set", "a=2", "--seed", "5"])], out)
        jobs = os.path.join(self.tmp, "jobs.txt")
        with open(jobs, "w") as f:
            f.write("".join(ln + "\n" for ln in lines))
        r = run(["sh", "-c", lines[0]])
        self.assertEqual(r.returncode, 0, r.stderr)
        shutil.rmtree(out)
        with open(jobs) as f:
            r = run(["xargs", "-P2", "-I{}", "sh", "-c", "{}"], stdin=f)
        self.assertEqual(r.returncode, 0, r.stderr)
        self._check_runs(out, [("a=1", "config_a", "1"), ("a=2", "config_seed", "5")])

    def test_quoted_line_with_xargs_d(self):
        out = os.path.join(self.tmp, "out dir")
        lines = self._lines([("n", ["--set", "name=a b'c"])], out)
        jobs = os.path.join(self.tmp, "jobs.txt")
        with open(jobs, "w") as f:
            f.write(lines[0] + "\n")
        with open(jobs) as f:
            r = run(["xargs", "-d", "\n", "-P2", "-I{}", "sh", "-c", "{}"], stdin=f)
        self.assertEqual(r.returncode, 0, r.stderr)
        self._check_runs(out, [("n", "config_name", "a b'c")])

    @unittest.skipUnless(shutil.which("parallel"), "GNU parallel not installed")
    def test_runs_with_parallel(self):
        out = os.path.join(self.tmp, "out")
        lines = self._lines([("a=1", ["--set", "a=1"]), ("q", ["--set", "name=x y"])], out)
        jobs = os.path.join(self.tmp, "jobs.txt")
        with open(jobs, "w") as f:
            f.write("".join(ln + "\n" for ln in lines))
        with open(jobs) as f:
            r = run(["parallel", "--will-cite", "-j2"], stdin=f, env=dict(os.environ, PARALLEL_SHELL="/bin/sh"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self._check_runs(out, [("a=1", "config_a", "1"), ("q", "config_name", "x y")])

    def test_sh_runs_every_line(self):
        out = os.path.join(self.tmp, "out")
        lines = self._lines([("f", ["--set", "fail=1"]), ("a=1", ["--set", "a=1"])], out)
        jobs = os.path.join(self.tmp, "jobs.txt")
        with open(jobs, "w") as f:
            f.write("".join(ln + "\n" for ln in lines))
        r = run(["sh", jobs])
        self.assertEqual(r.returncode, 0, r.stderr)
        self._check_runs(out, [("a=1", "config_a", "1")])

    def test_failed_line_records_status(self):
        out = os.path.join(self.tmp, "out")
        line = self._lines([("f", ["--set", "fail=1"])], out)[0]
        r = run(["sh", "-c", line])
        self.assertEqual(r.returncode, 1)
        with open(os.path.join(out, "runs", "f", "exit_status")) as f:
            self.assertEqual(f.read().strip(), "1")
        with open(os.path.join(out, "runs", "f", "cmmsim.log")) as f:
            self.assertIn("told to fail", f.read())


class SlurmTests(TmpCase):
    def test_script_content(self):
        s = lib.slurm_script("/o/jobs.txt", "/o", 12, concurrency=3, sbatch_opts=["--time=00:10:00"])
        self.assertTrue(s.startswith("#!/bin/bash\n"))
        self.assertIn("#SBATCH --array=1-12%3\n", s)
        self.assertIn("#SBATCH --time=00:10:00\n", s)
        self.assertIn("#SBATCH --output=/o/slurm/%A_%a.out\n", s)
        self.assertIn('sed -n "${SLURM_ARRAY_TASK_ID}p" "$JOBS"', s)
        self.assertIn("JOBS=/o/jobs.txt\n", s)
        self.assertIn('exec sh -c "$LINE"', s)
        self.assertIn("#SBATCH --array=1-5\n", lib.slurm_script("/o/jobs.txt", "/o", 5))
        # every #SBATCH line comes before the first command
        lines = s.splitlines()
        first_cmd = next(i for i, ln in enumerate(lines) if ln and not ln.startswith("#"))
        self.assertFalse(any(ln.startswith("#SBATCH") for ln in lines[first_cmd:]))

    def test_sweep_writes_runnable_array_script(self):
        fake = make_fake(self.tmp)
        out = os.path.join(self.tmp, "out")
        r = run([sys.executable, SWEEP, "-o", out, "--cmmsim", fake, "--set", "lat=1,2,3", "--runner", "slurm",
                 "--sbatch=--time=00:05:00"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("sbatch ", r.stdout)
        self.assertIn("scripts/sweep merge", r.stdout)
        script = os.path.join(out, "sweep.sbatch")
        with open(script) as f:
            self.assertIn("#SBATCH --array=1-3\n", f.read())
        self.assertFalse(os.path.exists(os.path.join(out, "runs", "lat=2")))  # not submitted, not run
        r = run(["bash", script], env=dict(os.environ, SLURM_ARRAY_TASK_ID="2"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(os.path.join(out, "runs", "lat=2", "row.csv")))
        self.assertFalse(os.path.exists(os.path.join(out, "runs", "lat=1")))
        r = run(["bash", script], env=dict(os.environ, SLURM_ARRAY_TASK_ID="4"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("no line 4", r.stderr)


class MergeTests(TmpCase):
    def write_run(self, name, header, values, status="0"):
        d = os.path.join(self.tmp, "runs", name)
        os.makedirs(d, exist_ok=True)
        if header is not None:
            with open(os.path.join(d, "row.csv"), "w") as f:
                f.write(",".join(header) + "\n" + ",".join(values) + "\n")
        if status is not None:
            with open(os.path.join(d, "exit_status"), "w") as f:
                f.write(status + "\n")
        return d

    def test_merge_differing_columns_and_failures(self):
        self.write_run("k=b,seed=10", ["config_k", "config_seed", "lat", "new_result"], ["b", "10", "3.5", "9"])
        self.write_run("k=b,seed=2", ["config_k", "config_seed", "lat"], ["b", "2", "3"])
        self.write_run("k=a,seed=1", ["config_k", "config_seed", "config_extra", "lat"], ["a", "1", "x", "2"])
        d = self.write_run("k=c,seed=1", ["config_k", "lat"], ["c", "1"], status="1")
        with open(os.path.join(d, "cmmsim.log"), "w") as f:
            f.write("cmmsim: FAILED\nerror: watchdog fired\n")
        self.write_run("k=d,seed=1", None, None, status="0")       # no row.csv
        self.write_run("k=e,seed=1", None, None, status=None)      # never finished
        self.write_run("k=f,seed=1", ["a", "b"], ["1"])            # malformed
        with open(os.path.join(self.tmp, "sweep.json"), "w") as f:
            json.dump({"runs": [{"name": n} for n in ("k=a,seed=1", "k=b,seed=2", "k=b,seed=10", "k=c,seed=1",
                                                    "k=d,seed=1", "k=e,seed=1", "k=f,seed=1", "k=g,seed=1")]}, f)
        res = lib.merge(self.tmp)
        self.assertEqual([r["run"] for r in res.rows], ["k=a,seed=1", "k=b,seed=2", "k=b,seed=10", "k=c,seed=1"])
        self.assertEqual(res.columns, ["run", "exit_status", "config_k", "config_seed", "config_extra", "lat",
                                       "new_result"])
        failed = dict(res.failed)
        self.assertEqual(sorted(failed), ["k=c,seed=1", "k=d,seed=1", "k=e,seed=1", "k=f,seed=1", "k=g,seed=1"])
        self.assertIn("status 1", failed["k=c,seed=1"])
        self.assertIn("error: watchdog fired", failed["k=c,seed=1"])
        self.assertIn("no row.csv", failed["k=d,seed=1"])
        self.assertIn("malformed", failed["k=f,seed=1"])
        self.assertIn("not run", failed["k=g,seed=1"])
        text = lib.csv_text(res.columns, res.rows)
        rows = list(csv.reader(io.StringIO(text)))
        self.assertEqual(rows[1], ["k=a,seed=1", "0", "a", "1", "x", "2", ""])
        self.assertEqual(rows[3], ["k=b,seed=10", "0", "b", "10", "", "3.5", "9"])
        self.assertEqual(rows[4][:2], ["k=c,seed=1", "1"])

    def test_merge_cli_exit_codes(self):
        self.write_run("a=1", ["config_a", "lat"], ["1", "2"])
        r = run([sys.executable, SWEEP, "merge", self.tmp])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("all clean", r.stdout)
        self.write_run("a=2", None, None, status="2")
        r = run([sys.executable, SWEEP, "merge", self.tmp])
        self.assertEqual(r.returncode, 1)
        self.assertIn("FAILED a=2", r.stderr)
        with open(os.path.join(self.tmp, "failed.txt")) as f:
            self.assertTrue(f.read().startswith("a=2\t"))
        header, rows = read_sweep_csv(os.path.join(self.tmp, "sweep.csv"))
        self.assertEqual([r["run"] for r in rows], ["a=1"])
        empty = os.path.join(self.tmp, "empty")
        os.makedirs(empty)
        r = run([sys.executable, SWEEP, "merge", empty])
        self.assertEqual(r.returncode, 2)
        self.assertIn("no runs found", r.stderr)


class SweepCliTests(TmpCase):
    def sweep(self, *args):
        return run([sys.executable, SWEEP] + list(args))

    def test_local_run_xargs_and_merge(self):
        fake = make_fake(self.tmp)
        out = os.path.join(self.tmp, "out")
        r = self.sweep("-o", out, "--cmmsim", fake, "--set", "lat=1,2", "--set", "topo=r,m", "--seeds", "2",
                       "--runner", "xargs", "-j", "2", "--", "--messages", "20")
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_sweep_csv(os.path.join(out, "sweep.csv"))
        self.assertEqual(header[:5], ["run", "exit_status", "config_lat", "config_topo", "config_seed"])
        self.assertEqual(len(rows), 8)
        self.assertEqual(rows[0]["run"], "lat=1,topo=m,seed=1")
        self.assertTrue(all(r["messages_delivered"] == "20" for r in rows))
        with open(os.path.join(out, "jobs.txt")) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 8)
        self.assertIn("lat=1,topo=r,seed=1", lines[0])
        with open(os.path.join(out, "sweep.json")) as f:
            meta = json.load(f)
        self.assertEqual(meta["runs"][1]["name"], "lat=1,topo=r,seed=2")

    def test_failed_run_exit_1_and_rerun_lines(self):
        fake = make_fake(self.tmp)
        out = os.path.join(self.tmp, "out")
        r = self.sweep("-o", out, "--cmmsim", fake, "--set", "fail=0,1", "--runner", "xargs")
        self.assertEqual(r.returncode, 1)
        self.assertIn("FAILED fail=1", r.stderr)
        self.assertIn("told to fail", r.stderr)
        with open(os.path.join(out, "failed_jobs.txt")) as f:
            again = f.read().splitlines()
        self.assertEqual(len(again), 1)
        self.assertIn("--set fail=1", again[0])

    def test_grid_file_and_cli_combined(self):
        fake = make_fake(self.tmp)
        grid = os.path.join(self.tmp, "g.json")
        with open(grid, "w") as f:
            json.dump({"set": {"lat": [1, 2]}, "seeds": 2, "args": ["--messages", "3"]}, f)
        out = os.path.join(self.tmp, "out")
        r = self.sweep("-o", out, "--cmmsim", fake, "--grid", grid, "--range", "x=1:3:2", "--runner", "none")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(out, "jobs.txt")) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 8)
        self.assertIn("--set lat=1 --set x=1 --seed 1 --messages 3 -q -o", lines[0])
        self.assertIn("parallel", r.stdout)
        self.assertFalse(os.path.exists(os.path.join(out, "sweep.csv")))

    def test_input_errors(self):
        fake = make_fake(self.tmp)
        out = os.path.join(self.tmp, "out")
        cases = [
            (["--cmmsim", fake], "empty grid"),
            (["--cmmsim", fake, "--set", "lat"], "expected KEY=VALUE"),
            (["--cmmsim", fake, "--seeds", "2", "--runner", "pbs"], "unknown runner"),
            (["--cmmsim", os.path.join(self.tmp, "nope"), "--seeds", "2"], "scripts/run"),
            (["--cmmsim", fake, "--set", "bogus=1"], "is not a top-level scalar key"),
            (["--cmmsim", fake, "--seeds", "2", "--", "-o", "x"], "output folder"),
            (["--cmmsim", fake, "--set", "a=1", "--set", "a=2"], "given twice"),
            (["--cmmsim", fake, "--seeds", "2", "-j", "0"], "at least 1"),
            (["--cmmsim", fake, "--grid", os.path.join(self.tmp, "missing.json")], "cannot read"),
        ]
        for args, msg in cases:
            r = self.sweep("-o", out, *args)
            self.assertEqual(r.returncode, 2, f"{args}: {r.stderr}")
            self.assertIn(msg, r.stderr, str(args))
            self.assertNotIn("Traceback", r.stderr)

    def test_xargs_fallback_note(self):
        fake = make_fake(self.tmp)
        bindir = os.path.join(self.tmp, "bin")
        os.makedirs(bindir)
        for tool in ("xargs", "sh", "mkdir"):
            os.symlink(shutil.which(tool), os.path.join(bindir, tool))
        out = os.path.join(self.tmp, "out")
        r = run([sys.executable, SWEEP, "-o", out, "--cmmsim", fake, "--seeds", "2"],
                env=dict(os.environ, PATH=bindir))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("GNU parallel is not installed", r.stderr)
        self.assertEqual(len(read_sweep_csv(os.path.join(out, "sweep.csv"))[1]), 2)


def plot_txt(path):
    """The '# key: value' lines of a PREFIX-KIND.txt and its table rows."""
    meta, rows = {}, []
    with open(path, encoding="utf-8") as f:
        for ln in f.read().splitlines():
            if ln.startswith("# ") and ": " in ln:
                k, v = ln[2:].split(": ", 1)
                meta[k] = v
            elif ln.strip():
                rows.append(ln.split())
    return meta, rows


def svg_text(path):
    """All text of an SVG written by matplotlib (svg.fonttype none keeps text as text)."""
    root = ET.parse(path).getroot()
    return " ".join(" ".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))


def is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


class MetaTests(TmpCase):
    STATS = {
        "seed": 3, "scenario": "x",
        "latency": {"p99": {"value": 40, "unit": "cycles", "desc": "99th percentile"},
                    "histogram": {"unit": "messages", "desc": "bins", "bins": [{"from": 1, "to": 2, "count": 3}]}},
        "latency_parts": {"fabric": {"desc": "CMM to CMM", "mean": {"value": 2.5, "unit": "cycles", "desc": "mean"}}},
        "load": {"accepted_msgs": {"value": 0.25, "unit": "messages/cycle/terminal", "desc": "delivered"}},
        "system": {"scoreboard_clean": {"value": True, "unit": "bool", "desc": "clean"},
                   "rejects": {"BAD_KEY": {"value": 2, "unit": "packets", "desc": "rejections with this reason, all"}}},
        "nodes": [{"node": "n0", "id": {"value": 0, "unit": "id", "desc": "node id"},
                   "stall_cycles": {"ingress": {"value": 5, "unit": "cycles", "desc": "ingress waited"}},
                   "shell_drops": {"BAD_CRC": {"value": 1, "unit": "packets", "desc": "dropped with reason "}}}],
        "channels": [{"sent": {"value": 1, "unit": "messages", "desc": "sent"}}],
    }

    def test_flatten_units_and_descriptions(self):
        flat = {c: (v, u, d) for c, v, u, d in lib.flatten_stats(self.STATS)}
        self.assertEqual(sorted(flat), ["latency.p99", "latency_parts.fabric.mean", "load.accepted_msgs",
                                        "system.rejects.BAD_KEY", "system.scoreboard_clean"])
        self.assertEqual(flat["latency.p99"], (40, "cycles", "message latency: 99th percentile"))
        self.assertEqual(flat["latency_parts.fabric.mean"][2], "latency part fabric (CMM to CMM): mean")
        self.assertEqual(flat["system.rejects.BAD_KEY"][2], "rejections with reason BAD_KEY, all")
        self.assertEqual(flat["system.scoreboard_clean"][0], 1)

    def test_merge_writes_columns_meta_and_nodes(self):
        d = os.path.join(self.tmp, "runs", "a=1")
        os.makedirs(d)
        with open(os.path.join(d, "row.csv"), "w") as f:
            f.write("config_a,latency_p99\n1,40\n")
        with open(os.path.join(d, "exit_status"), "w") as f:
            f.write("0\n")
        with open(os.path.join(d, "stats.json"), "w") as f:
            json.dump(self.STATS, f)
        r = run([sys.executable, SWEEP, "merge", self.tmp])
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_sweep_csv(os.path.join(self.tmp, "sweep.csv"))
        self.assertEqual(rows[0]["latency.p99"], "40")
        self.assertEqual(rows[0]["load.accepted_msgs"], "0.25")
        with open(os.path.join(self.tmp, "sweep-columns.json")) as f:
            meta = json.load(f)
        cols = meta["columns"]
        self.assertEqual(set(cols), set(header))  # every column described
        self.assertEqual(cols["load.accepted_msgs"]["unit"], "messages/cycle/terminal")
        self.assertEqual(cols["latency_p99"]["unit"], "cycles")  # row.csv twin of latency.p99
        self.assertIn("latency.p99", cols["latency_p99"]["source"])
        self.assertEqual(meta["node_columns"]["stall_cycles.ingress"]["desc"], "stall: ingress waited")
        self.assertEqual(meta["node_columns"]["shell_drops.BAD_CRC"]["desc"], "dropped with reason BAD_CRC")
        nh, nrows = read_sweep_csv(os.path.join(self.tmp, "sweep-nodes.csv"))
        self.assertEqual(nh[:4], ["run", "node_index", "node", "id"])
        self.assertEqual(nrows[0]["stall_cycles.ingress"], "5")

    def test_config_units_from_cmmsim_key_declarations(self):
        # scripts/sweep saves `cmmsim --keys-json` as OUT/scenario-keys.json; merge() loads it.
        with open(os.path.join(self.tmp, lib.KEYS_FILE), "w") as f:
            json.dump([{"path": "link_latency_cycles", "unit": "ns", "desc": "latency of every fabric link"},
                       {"path": "alarm_window_log2", "unit": "log2(cycles)", "desc": "alarm window"}], f)
        self.addCleanup(lib.KEY_META.clear)
        lib.load_key_meta(self.tmp)
        # the unit is the declaration's, the short label the table's
        self.assertEqual(lib.axis_label("config_link_latency_cycles", {}), "link latency [ns]")
        self.assertEqual(lib.config_meta("config_alarm_window_log2"), ("log2(cycles)", "alarm window"))
        self.assertEqual(lib.config_meta("config_fabric_x"), ("routers", "routers per row"))  # not declared

    def test_config_and_row_labels(self):
        lib.KEY_META.clear()
        rows = [{"config_traffic.load_unit": "bytes_per_cycle"}]
        self.assertEqual(lib.axis_label("config_traffic.offered_load", {}, rows),
                         "offered load set in the scenario (traffic.offered_load) [bytes/cycle/terminal]")
        self.assertEqual(lib.axis_label("config_link_latency_cycles", {}), "link latency [cycles]")
        self.assertEqual(lib.axis_label("delivered_per_cycle", {}).split(" [")[1], "messages/cycle]")
        self.assertIn("whole run", lib.axis_label("delivered_per_cycle", {}))


class PlotTests(TmpCase):
    """A sweep with the stand-in cmmsim (its stats.json has load, latency,
    latency parts and 4 nodes on a 2x2 fabric), then scripts/plot."""

    def sweep(self, *extra):
        out = os.path.join(self.tmp, "out")
        r = run([sys.executable, SWEEP, "-o", out, "--cmmsim", make_fake(self.tmp), "--set", "topology=ring,mesh",
                 "--set", "lat=1,2,4,8", "--seeds", "2", "--runner", "xargs", "-j", "2", "-q"] + list(extra))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return os.path.join(out, "sweep.csv")

    def test_every_kind_with_units_legend_and_error_bars(self):
        csv_path = self.sweep()
        prefix = os.path.join(self.tmp, "p", "fig")
        r = run([sys.executable, PLOT, csv_path, "-o", prefix, "-q"])
        self.assertEqual(r.returncode, 0, r.stderr)
        for kind in ("latency", "throughput", "percentiles", "breakdown", "heatmap"):
            for ext in ("txt", "png", "svg"):
                self.assertTrue(os.path.isfile(f"{prefix}-{kind}.{ext}"), f"{kind}.{ext}")
            self.assertTrue(is_png(f"{prefix}-{kind}.png"))
            meta, _ = plot_txt(f"{prefix}-{kind}.txt")
            text = svg_text(f"{prefix}-{kind}.svg")
            for axis in ("x", "y"):
                self.assertIn(meta[axis].split(" ")[0], text, f"{kind} {axis} label in the figure")
                self.assertNotIn(meta[axis], ("config_lat", "load.offered_msgs", "delivered_per_cycle"))
            self.assertTrue(meta["error bars"], kind)
        # throughput: accepted against offered, one unit, per terminal, measurement window
        meta, rows = plot_txt(prefix + "-throughput.txt")
        self.assertEqual(meta["x"], "offered load: messages created [messages/cycle/terminal]")
        self.assertEqual(meta["y"], "accepted throughput: messages delivered [messages/cycle/terminal]")
        self.assertIn("x=load.offered_msgs; y=load.accepted_msgs", meta["columns"])
        self.assertIn("accepted = offered", meta["legend"])
        self.assertIn("mean over the n = 2 seeds", meta["error bars"])
        self.assertIn("min..max", meta["error bars"])
        text = svg_text(prefix + "-throughput.svg")
        self.assertIn("min..max over seeds", text)        # legend title
        self.assertIn("fabric topology = mesh", text)     # legend entry, from the group column
        self.assertIn("Points: mean over the n = 2 seeds", text)  # caption
        # latency: x is the grid column (not a load key), label from the scenario key table
        meta, rows = plot_txt(prefix + "-latency.txt")
        self.assertEqual(meta["x"], "scenario key lat")
        self.assertEqual(meta["y"], "message latency: mean [cycles]")
        ring = [r for r in rows if r[:3] == ["fabric", "topology", "="] and r[3] == "ring"]
        self.assertEqual(ring[0][4:], ["1", "2", "11.5", "11", "12"])  # x, n, mean, min, max (seeds 1, 2)
        meta, rows = plot_txt(prefix + "-percentiles.txt")
        self.assertIn("99th percentile", meta["legend"])
        # breakdown: the parts add up to the total
        meta, rows = plot_txt(prefix + "-breakdown.txt")
        self.assertIn("rx_wait", meta["error bars"])
        means = {}
        for r in rows[1:]:
            means.setdefault((r[0], r[-4]), {})[r[-3]] = float(r[-1])
        for key, parts in means.items():
            self.assertAlmostEqual(parts["source"] + parts["fabric"] + parts["pipeline"], parts["total"], places=3)
        # heat map: the largest grid point (lat=8), node n3 at router (1, 1), mean over 2 seeds
        meta, rows = plot_txt(prefix + "-heatmap.txt")
        self.assertEqual(meta["colour"], "bytes received [bytes/cycle]")
        self.assertIn("scenario key lat = 8", meta["title"])
        n3 = [r for r in rows if "n3" in r and "ring" in r]
        self.assertEqual(n3[0][-8:], ["n3", "3", "1", "1", "2", "32", "32", "32"])  # node id x y n mean min max
        self.assertIn("node n at router (n % x, n / x)", meta["error bars"])

    def test_bad_input_exits_2_with_a_clear_message(self):
        csv_path = self.sweep()
        cases = [
            (["--x", "nope"], "--x column 'nope' is not in sweep.csv"),
            (["--y", "latency.p98"], "did you mean latency.p99"),
            (["--group", "config_topolgy"], "did you mean config_topology"),
            (["--kind", "heatmap", "--node-stat", "bogus"], "'bogus' is not in sweep-nodes.csv"),
            (["--kind", "heatmap", "--at", "config_lat=3"], "no run matches"),
            (["--kind", "bogus"], "--kind 'bogus'"),
            (["--kind", "throughput", "--offered", "latency.mean"], "needs one unit"),
            (["--format", "gif"], "--format 'gif'"),
        ]
        for args, msg in cases:
            r = run([sys.executable, PLOT, csv_path, "-q"] + args)
            self.assertEqual(r.returncode, 2, f"{args}: {r.stderr}")
            self.assertIn(msg, r.stderr, args)
            self.assertTrue(r.stderr.startswith("plot: error: "), args)

    def test_throughput_needs_generated_traffic(self):
        csv_path = self.sweep("--", "--set", "nostats=1")
        r = run([sys.executable, PLOT, csv_path, "-q", "--kind", "throughput"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("generated traffic", r.stderr)
        r = run([sys.executable, PLOT, csv_path, "-q"])  # the defaults skip what has no data
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("throughput: needs", r.stderr)
        self.assertTrue(os.path.isfile(os.path.join(self.tmp, "out", "plot-latency.png")))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "out", "plot-throughput.png")))

    def test_aggregate_mean_min_max(self):
        rows = [
            {"config_topology": "ring", "config_rate": "0.1", "config_seed": "1", "lat": "10", "acc": "0.1"},
            {"config_topology": "ring", "config_rate": "0.1", "config_seed": "2", "lat": "14", "acc": "0.1"},
            {"config_topology": "ring", "config_rate": "0.2", "config_seed": "1", "lat": "20", "acc": "0.19"},
            {"config_topology": "mesh", "config_rate": "0.1", "config_seed": "1", "lat": "8", "acc": "0.1"},
            {"config_topology": "mesh", "config_rate": "0.2", "config_seed": "1", "lat": "", "acc": "0.2"},
        ]
        series, numeric, cats, skipped = lib.aggregate(rows, "config_rate", ["lat"], ["config_topology"])
        self.assertTrue(numeric)
        self.assertEqual(skipped, 0)
        self.assertEqual([s.group for s in series], ["topology=mesh", "topology=ring"])
        self.assertEqual(series[0].points, [(0.1, 8.0, 8.0, 8.0, 1)])  # empty cell left out
        self.assertEqual(series[1].points, [(0.1, 12.0, 10.0, 14.0, 2), (0.2, 20.0, 20.0, 20.0, 1)])
        series, numeric, cats, _ = lib.aggregate(rows, "config_topology", ["lat", "acc"])
        self.assertFalse(numeric)
        self.assertEqual(cats, ["mesh", "ring"])
        series, _, _, _ = lib.aggregate(rows, "config_rate", ["lat"], ["config_topology"], xmean="acc")
        self.assertEqual([p[0] for p in series[1].points], [0.1, 0.19])
        self.assertEqual(series[1].xrange, [(0.1, 0.1), (0.19, 0.19)])
        self.assertEqual(lib.varying_config_columns(list(rows[0]), rows), ["config_topology", "config_rate"])

@unittest.skipUnless(os.environ.get("CMM_SWEEP_CMMSIM"), "set CMM_SWEEP_CMMSIM to the built cmmsim")
class SystemTest(TmpCase):
    def test_tiny_real_sweep(self):
        cmmsim = os.environ["CMM_SWEEP_CMMSIM"]
        self.assertTrue(os.access(cmmsim, os.X_OK), f"{cmmsim} is not built (cmake --build build --target cmmsim)")
        out = os.path.join(self.tmp, "out")
        r = run([sys.executable, SWEEP, "-o", out, "--cmmsim", cmmsim, "--set", "topology=crossbar,mesh",
                 "--set", "link_latency_cycles=4,20", "--runner", "xargs", "-j", "2", "--", "--messages", "20"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        header, rows = read_sweep_csv(os.path.join(out, "sweep.csv"))
        self.assertEqual([x["run"] for x in rows], [
            "topology=crossbar,link_latency_cycles=4", "topology=crossbar,link_latency_cycles=20",
            "topology=mesh,link_latency_cycles=4", "topology=mesh,link_latency_cycles=20"])
        for col in ("config_topology", "config_link_latency_cycles", "config_seed", "messages_delivered",
                    "latency_mean", "scoreboard_clean"):
            self.assertIn(col, header)
        for x in rows:
            self.assertEqual(x["exit_status"], "0")
            self.assertEqual(x["scoreboard_clean"], "1")
            self.assertEqual(x["config_topology"], x["run"].split(",")[0].split("=")[1])
            self.assertGreater(int(x["messages_delivered"]), 0)
        with open(os.path.join(out, "sweep-columns.json")) as f:
            cols = json.load(f)["columns"]
        self.assertEqual(cols["latency.p99"]["unit"], "cycles")
        self.assertEqual(set(cols), set(header))
        # scripted messages (no traffic generator): latency plots, no throughput (no offered load)
        r = run([sys.executable, PLOT, os.path.join(out, "sweep.csv"), "-q"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("throughput: needs", r.stderr)
        meta, _ = plot_txt(os.path.join(out, "plot-latency.txt"))
        self.assertEqual(meta["x"], "link latency [cycles]")
        self.assertEqual(meta["y"], "message latency: mean [cycles]")
        self.assertIn("fabric topology = mesh", meta["legend"])
        self.assertTrue(is_png(os.path.join(out, "plot-latency.png")))


def help_examples():
    """The example command lines of scripts/plot --help."""
    r = run([sys.executable, PLOT, "--help"])
    return [ln.strip() for ln in r.stdout.splitlines() if ln.startswith("  scripts/")]


@unittest.skipUnless(os.environ.get("CMM_SWEEP_CMMSIM"), "set CMM_SWEEP_CMMSIM to the built cmmsim")
class HelpExamplesTest(TmpCase):
    """Runs the examples of scripts/plot --help as printed (the sweep with the
    given cmmsim, into a temporary folder instead of results/mesh) and checks
    every figure: files, axis labels with units, explained error bars."""

    def test_help_examples_run(self):
        cmmsim = os.environ["CMM_SWEEP_CMMSIM"]
        lines = help_examples()
        self.assertGreaterEqual(len(lines), 6, lines)
        out = os.path.join(self.tmp, "mesh")
        seen_kinds = set()
        for line in lines:
            argv = [a.replace("results/mesh", out) for a in shlex.split(line)]
            script = os.path.join(HERE, os.path.basename(argv[0]))
            extra = ["--cmmsim", cmmsim, "-q", "--runner", "xargs", "-j", "2"] if argv[0] == "scripts/sweep" else []
            if extra:
                cut = argv.index("--")
                argv = argv[:cut] + extra + argv[cut:]
            r = run([sys.executable, script] + argv[1:], cwd=os.path.dirname(HERE))
            self.assertEqual(r.returncode, 0, f"{line}\n{r.stdout}{r.stderr}")
            if argv[0] == "scripts/sweep":
                continue
            wrote = [ln.split("wrote ", 1)[1] for ln in r.stdout.splitlines() if ln.startswith("plot: wrote ")]
            self.assertTrue(wrote, line)
            for f in wrote:
                self.assertTrue(os.path.isfile(f), f)
                if f.endswith(".png"):
                    self.assertTrue(is_png(f), f)
                if not f.endswith(".txt"):
                    continue
                meta, rows = plot_txt(f)
                seen_kinds.add(meta["kind"])
                for axis in ("x", "y", "colour"):
                    if axis in meta and not (meta["kind"] == "heatmap" and axis != "colour"):
                        self.assertRegex(meta[axis], r"\[[^\]]+\]$", f"{line}: {axis} label has a unit")
                self.assertIn("seeds", meta["error bars"], line)
                self.assertIn(meta["x"].split(" [")[0][:20], svg_text(f[:-4] + ".svg"), line)
        self.assertEqual(seen_kinds, {"latency", "throughput", "percentiles", "breakdown", "heatmap"})
        # the throughput of the mesh saturates: accepted stays below offered at the highest load
        meta, rows = plot_txt(os.path.join(out, "plot-throughput.txt"))
        self.assertIn("[messages/cycle/terminal]", meta["x"])
        self.assertEqual(meta["x"].split(" [")[1], meta["y"].split(" [")[1])
        # every column --help names exists (in sweep.csv, or sweep-nodes.csv for --node-stat)
        help_text = run([sys.executable, PLOT, "--help"]).stdout
        header, _ = read_sweep_csv(os.path.join(out, "sweep.csv"))
        nheader, _ = read_sweep_csv(os.path.join(out, "sweep-nodes.csv"))
        named = set(re.findall(r"(?<![-/\w])(config_[a-z_.]*[a-z]|(?:latency|load|latency_parts)\.[a-z0-9_.]*[a-z0-9]|"
                               r"[a-z]+_bytes_per_cycle)\b", help_text))
        self.assertIn("load.offered_msgs", named)
        self.assertIn("offered_bytes_per_cycle", named)
        for col in sorted(named):
            self.assertIn(col, header + nheader, f"--help names {col}")
        r = run([sys.executable, PLOT, os.path.join(out, "sweep.csv"), "--x", "offered_load"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--x column 'offered_load' is not in sweep.csv; did you mean", r.stderr)


if __name__ == "__main__":
    unittest.main()
