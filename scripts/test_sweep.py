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


class PlotTests(TmpCase):
    ROWS = [
        {"config_topology": "ring", "config_rate": "0.1", "config_seed": "1", "lat": "10", "acc": "0.1"},
        {"config_topology": "ring", "config_rate": "0.1", "config_seed": "2", "lat": "14", "acc": "0.1"},
        {"config_topology": "ring", "config_rate": "0.2", "config_seed": "1", "lat": "20", "acc": "0.19"},
        {"config_topology": "mesh", "config_rate": "0.1", "config_seed": "1", "lat": "8", "acc": "0.1"},
        {"config_topology": "mesh", "config_rate": "0.2", "config_seed": "1", "lat": "", "acc": "0.2"},
    ]

    def test_aggregate_mean_min_max(self):
        series, numeric, cats, skipped = lib.aggregate(self.ROWS, "config_rate", ["lat"], ["config_topology"])
        self.assertTrue(numeric)
        self.assertEqual(skipped, 0)
        self.assertEqual([s.group for s in series], ["topology=mesh", "topology=ring"])
        self.assertEqual(series[0].points, [(0.1, 8.0, 8.0, 8.0, 1)])  # empty cell left out
        self.assertEqual(series[1].points, [(0.1, 12.0, 10.0, 14.0, 2), (0.2, 20.0, 20.0, 20.0, 1)])

    def test_aggregate_categorical_and_xmean(self):
        series, numeric, cats, _ = lib.aggregate(self.ROWS, "config_topology", ["lat", "acc"])
        self.assertFalse(numeric)
        self.assertEqual(cats, ["mesh", "ring"])
        self.assertEqual([s.ycol for s in series], ["lat", "acc"])
        self.assertEqual(series[0].points[1], (1.0, 44 / 3, 10.0, 20.0, 3))
        series, _, _, _ = lib.aggregate(self.ROWS, "config_rate", ["acc"], ["config_topology"], xmean="acc")
        self.assertEqual([p[0] for p in series[1].points], [0.1, 0.19])

    def test_varying_and_table(self):
        self.assertEqual(lib.varying_config_columns(list(self.ROWS[0]), self.ROWS), ["config_topology", "config_rate"])
        series, numeric, cats, _ = lib.aggregate(self.ROWS, "config_rate", ["lat"], ["config_topology"])
        t = lib.text_table(series, "config_rate", numeric, cats, title="t")
        lines = t.splitlines()
        self.assertEqual(lines[0], "# t")
        self.assertEqual(lines[1].split(), ["series", "config_rate", "n", "mean", "min", "max"])
        self.assertEqual(lines[3].split(), ["topology=ring", "0.1", "2", "12", "10", "14"])

    def test_nice_ticks(self):
        self.assertEqual(lib.nice_ticks(0, 10), [0, 2, 4, 6, 8, 10])
        t = lib.nice_ticks(0.013, 0.087)
        self.assertLessEqual(t[0], 0.013)
        self.assertGreaterEqual(t[-1], 0.087)
        self.assertEqual(len(lib.nice_ticks(5, 5)) >= 2, True)

    def test_svg_writer(self):
        series, numeric, cats, _ = lib.aggregate(self.ROWS, "config_rate", ["lat"], ["config_topology"])
        svg = lib.svg_chart(series, "rate <x>", "latency", title="a & b", numeric_x=numeric, categories=cats)
        root = ET.fromstring(svg)  # well-formed, text escaped
        ns = "{http://www.w3.org/2000/svg}"
        self.assertEqual(root.tag, ns + "svg")
        self.assertEqual(len(root.findall(f"{ns}polyline")), 2)
        texts = [t.text for t in root.iter(ns + "text")]
        self.assertIn("rate <x>", texts)
        self.assertIn("a & b", texts)
        self.assertIn("topology=ring", texts)
        self.assertEqual(svg, lib.svg_chart(series, "rate <x>", "latency", title="a & b"))  # deterministic
        # categorical x and a log axis also give well-formed output
        series, numeric, cats, _ = lib.aggregate(self.ROWS, "config_topology", ["lat"])
        ET.fromstring(lib.svg_chart(series, "t", "l", numeric_x=False, categories=cats, logy=True))
        ET.fromstring(lib.svg_chart([], "t", "l"))

    def write_csv(self, rows):
        p = os.path.join(self.tmp, "sweep.csv")
        cols = lib.merge_columns(rows)
        with open(p, "w") as f:
            f.write(lib.csv_text(cols, rows))
        return p

    def test_plot_cli_builtin(self):
        rows = []
        for topo in ("ring", "mesh"):
            for lat in (4, 20):
                for seed in (1, 2):
                    rows.append({"run": f"t={topo},l={lat},seed={seed}", "exit_status": "0",
                                 "config_topology": topo, "config_link_latency_cycles": str(lat),
                                 "config_seed": str(seed), "latency_mean": str(lat * 3 + seed),
                                 "latency_p99": str(lat * 5), "delivered_per_cycle": "0.01"})
        rows.append(dict(rows[0], run="bad", exit_status="1", latency_mean="99999"))
        p = self.write_csv(rows)
        prefix = os.path.join(self.tmp, "plots", "p")
        r = run([sys.executable, PLOT, p, "--backend", "builtin", "-o", prefix])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("failed runs left out", r.stderr)
        for kind in ("latency", "throughput"):
            for ext in ("txt", "svg"):
                self.assertTrue(os.path.isfile(f"{prefix}-{kind}.{ext}"), f"{kind}.{ext}")
            self.assertFalse(os.path.exists(f"{prefix}-{kind}.png"))
        with open(prefix + "-latency.txt") as f:
            t = f.read()
        self.assertIn("x=config_link_latency_cycles, group=config_topology", t)
        self.assertIn("topology=mesh, latency_mean", t)
        self.assertNotIn("99999", t)
        self.assertIn(" 2 ", t)  # n = 2 seeds per point
        ET.parse(prefix + "-latency.svg")
        r = run([sys.executable, PLOT, p, "--backend", "builtin", "-o", prefix, "--x", "nope"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("'nope' is not in the CSV", r.stderr)


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
        r = run([sys.executable, PLOT, os.path.join(out, "sweep.csv"), "--backend", "builtin", "-q"])
        self.assertEqual(r.returncode, 0, r.stderr)
        ET.parse(os.path.join(out, "plot-latency.svg"))


if __name__ == "__main__":
    unittest.main()
