"""Shared code of scripts/sweep and scripts/plot (Python 3 standard library only).

Parameter grids and job lines (sweep), merging of per-run row.csv files,
the statistics of each run's stats.json with their units and descriptions
(sweep-columns.json), per-node tables, and aggregation over seeds (plot).
Everything here is deterministic: the same inputs give the same bytes.
"""

import csv
import decimal
import hashlib
import io
import itertools
import json
import math
import os
import re
import shlex


class SweepError(Exception):
    """Bad input: the message is shown to the user as it is."""


# --------------------------------------------------------------------------
# Grid specification

KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
SEED_KEY = "seed"
RESERVED_ARGS = ("-o", "--out", "-q", "--quiet", "--dump-config", "-h", "--help", "--version")


class Grid:
    """An ordered list of (key, [values]) plus seeds (list of int, or None)
    and extra cmmsim arguments. Values are strings exactly as given to
    cmmsim's --set KEY=VALUE."""

    def __init__(self):
        self.params = []   # [(key, [str, ...])] in the order given
        self.seeds = None  # None: cmmsim's default seed, not in names
        self.args = []

    def keys(self):
        return [k for k, _ in self.params]

    def add(self, key, values, origin):
        if not KEY_RE.match(key):
            raise SweepError(f"{origin}: bad key {key!r}: expected a scenario key such as "
                             "link_latency_cycles (letters, digits, _ and .)")
        if key == SEED_KEY:
            raise SweepError(f"{origin}: the seed is not a scenario key: use --seeds "
                             "(or \"seeds\" in the grid file)")
        if key in self.keys():
            raise SweepError(f"{origin}: key {key!r} is given twice in the grid")
        if not values:
            raise SweepError(f"{origin}: key {key!r} has no values")
        seen = set()
        for v in values:
            if v == "":
                raise SweepError(f"{origin}: key {key!r} has an empty value")
            if "\n" in v or "\r" in v or "\0" in v:
                raise SweepError(f"{origin}: key {key!r}: a value may not contain a newline")
            if v in seen:
                raise SweepError(f"{origin}: key {key!r} has the value {v!r} twice")
            seen.add(v)
        self.params.append((key, list(values)))

    def size(self):
        n = 1
        for _, vals in self.params:
            n *= len(vals)
        return n * (len(self.seeds) if self.seeds else 1)

    def to_json(self):
        d = {"set": {k: v for k, v in self.params}}
        if self.seeds is not None:
            d["seeds"] = self.seeds
        d["args"] = self.args
        return d


def split_key_value(text, origin):
    """'key=rest' -> (key, rest) with a clear error for anything else."""
    if "=" not in text:
        raise SweepError(f"{origin} {text!r}: expected KEY=VALUE")
    key, rest = text.split("=", 1)
    key = key.strip()
    if not key:
        raise SweepError(f"{origin} {text!r}: missing key before '='")
    if not rest.strip():
        raise SweepError(f"{origin} {text!r}: missing value after '='")
    return key, rest


def parse_set(text):
    """--set key=v1,v2,v3 -> (key, ['v1', 'v2', 'v3'])."""
    key, rest = split_key_value(text, "--set")
    values = [v.strip() for v in rest.split(",")]
    if any(v == "" for v in values):
        raise SweepError(f"--set {text!r}: empty value in the list (two commas, or a trailing comma?)")
    return key, values


def _dec(text, what, origin):
    try:
        d = decimal.Decimal(text.strip())
    except decimal.InvalidOperation:
        raise SweepError(f"{origin}: {what} {text.strip()!r} is not a number") from None
    if not d.is_finite():
        raise SweepError(f"{origin}: {what} {text.strip()!r} is not a finite number")
    return d


MAX_RANGE_VALUES = 100000


def range_values(start, stop, step, origin="--range"):
    """Inclusive numeric range start..stop by step, exact (decimal) arithmetic.
    Integers stay integers; decimals keep the finest scale of the inputs."""
    a = _dec(str(start), "start", origin)
    b = _dec(str(stop), "stop", origin)
    s = _dec(str(step), "step", origin)
    if s == 0:
        raise SweepError(f"{origin}: step must not be 0")
    if (b - a) * s < 0:
        raise SweepError(f"{origin}: step {s} goes away from stop {b} (start {a})")
    count = int((b - a) / s) + 1
    if count > MAX_RANGE_VALUES:
        raise SweepError(f"{origin}: {count} values; more than {MAX_RANGE_VALUES} is surely a mistake")
    exp = min(a.as_tuple().exponent, s.as_tuple().exponent, 0)
    quantum = decimal.Decimal(1).scaleb(exp)
    out = []
    for i in range(count):
        v = (a + s * i).quantize(quantum)
        txt = format(v, "f")
        if txt.startswith("-") and v == 0:
            txt = txt[1:]
        out.append(txt)
    return out


def parse_range(text):
    """--range key=start:stop:step -> (key, values), stop included."""
    key, rest = split_key_value(text, "--range")
    parts = rest.split(":")
    if len(parts) != 3:
        raise SweepError(f"--range {text!r}: expected KEY=START:STOP:STEP (stop included), "
                         "e.g. link_latency_cycles=2:10:2")
    return key, range_values(*parts, origin=f"--range {text!r}")


def parse_seeds(text):
    """'1,2,5' -> [1, 2, 5]; '4' -> [1, 2, 3, 4]; '5:8' -> [5, 6, 7, 8]."""
    origin = f"--seeds {text!r}"
    text = str(text).strip()

    def seed(t):
        t = t.strip()
        if not re.fullmatch(r"\d+", t):
            raise SweepError(f"{origin}: {t!r} is not a seed (a non-negative integer)")
        return int(t)

    if not text:
        raise SweepError(f"{origin}: no seeds")
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 2:
            raise SweepError(f"{origin}: expected FIRST:LAST")
        a, b = seed(parts[0]), seed(parts[1])
        if b < a:
            raise SweepError(f"{origin}: last seed {b} is below the first {a}")
        seeds = list(range(a, b + 1))
    elif "," in text:
        seeds = [seed(t) for t in text.split(",")]
    else:
        n = seed(text)
        if n == 0:
            raise SweepError(f"{origin}: a count of 0 seeds; use e.g. --seeds 4 (= 1..4) or --seeds 0,1")
        seeds = list(range(1, n + 1))
    return check_seeds(seeds, origin)


def check_seeds(seeds, origin):
    if not seeds:
        raise SweepError(f"{origin}: no seeds")
    if len(seeds) > MAX_RANGE_VALUES:
        raise SweepError(f"{origin}: {len(seeds)} seeds; more than {MAX_RANGE_VALUES} is surely a mistake")
    if len(set(seeds)) != len(seeds):
        raise SweepError(f"{origin}: a seed is listed twice")
    for s in seeds:
        if not isinstance(s, int) or isinstance(s, bool) or s < 0 or s >= 2**64:
            raise SweepError(f"{origin}: {s!r} is not a seed (an integer 0 .. 2^64-1)")
    return seeds


def json_scalar_text(v, origin):
    """A JSON scalar of a grid file as the text given to --set KEY=VALUE."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise SweepError(f"{origin}: {v!r} is not a finite number")
        return repr(v)
    if isinstance(v, str):
        return v.strip()
    raise SweepError(f"{origin}: {json.dumps(v)} is not a scalar (string, number or boolean)")


GRID_FILE_KEYS = ("set", "range", "seeds", "args")


def load_grid_file(path, grid):
    """Adds a JSON grid file to grid:
    {"set": {"key": [v, ...] or v}, "range": {"key": "start:stop:step"},
     "seeds": [1, 2] or 4 or "1:8", "args": ["--messages", "100"]}"""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise SweepError(f"--grid {path}: cannot read: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise SweepError(f"--grid {path}: not valid JSON: line {e.lineno} column {e.colno}: {e.msg}") from None
    if not isinstance(data, dict):
        raise SweepError(f"--grid {path}: expected a JSON object with keys {', '.join(GRID_FILE_KEYS)}")
    unknown = [k for k in data if k not in GRID_FILE_KEYS]
    if unknown:
        raise SweepError(f"--grid {path}: unknown key(s) {', '.join(map(repr, unknown))}; "
                         f"allowed: {', '.join(GRID_FILE_KEYS)}")
    sets = data.get("set", {})
    if not isinstance(sets, dict):
        raise SweepError(f"--grid {path}: \"set\" must be an object {{\"key\": [values]}}")
    for key, vals in sets.items():
        origin = f"--grid {path}: set.{key}"
        if not isinstance(vals, list):
            vals = [vals]
        grid.add(key, [json_scalar_text(v, origin) for v in vals], origin)
    ranges = data.get("range", {})
    if not isinstance(ranges, dict):
        raise SweepError(f"--grid {path}: \"range\" must be an object {{\"key\": \"start:stop:step\"}}")
    for key, spec in ranges.items():
        origin = f"--grid {path}: range.{key}"
        if isinstance(spec, list) and len(spec) == 3:
            parts = [json_scalar_text(x, origin) for x in spec]
        elif isinstance(spec, str) and spec.count(":") == 2:
            parts = spec.split(":")
        else:
            raise SweepError(f"{origin}: expected \"start:stop:step\" or [start, stop, step]")
        grid.add(key, range_values(*parts, origin=origin), origin)
    if "seeds" in data:
        s = data["seeds"]
        origin = f"--grid {path}: seeds"
        if isinstance(s, list):
            grid.seeds = check_seeds(s, origin)
        elif isinstance(s, (int, str)) and not isinstance(s, bool):
            grid.seeds = parse_seeds(str(s))
        else:
            raise SweepError(f"{origin}: expected a list of seeds, a count or \"first:last\"")
    args = data.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise SweepError(f"--grid {path}: \"args\" must be a list of strings (cmmsim arguments)")
    grid.args.extend(args)
    return grid


def check_extra_args(grid):
    """Refuses cmmsim arguments that the sweep sets itself."""
    for i, a in enumerate(grid.args):
        opt = a.split("=", 1)[0]
        if opt in RESERVED_ARGS:
            raise SweepError(f"cmmsim argument {a!r}: the sweep sets the output folder and -q itself")
        if opt == "--seed" and grid.seeds is not None:
            raise SweepError("cmmsim argument --seed conflicts with --seeds; give one of them")
        if opt == "--set":
            kv = a.split("=", 1)[1] if "=" in a else (grid.args[i + 1] if i + 1 < len(grid.args) else "")
            key = kv.split("=", 1)[0]
            if key in grid.keys():
                raise SweepError(f"cmmsim argument --set {kv}: {key!r} is also a grid key")


# --------------------------------------------------------------------------
# Expansion, names and job lines

NAME_SAFE = re.compile(r"[^A-Za-z0-9._+\-]")
MAX_NAME = 160


def name_part(text):
    return NAME_SAFE.sub("_", text)


def run_name(params, seed):
    """Folder name of one run: 'key=value,key=value,seed=N' in grid order.
    Characters other than letters, digits and ._+- in keys or values become
    '_'; an over-long name is shortened and made unique with a hash."""
    parts = [f"{name_part(k)}={name_part(v)}" for k, v in params]
    if seed is not None:
        parts.append(f"seed={seed}")
    name = ",".join(parts)
    if len(name) > MAX_NAME:
        h = hashlib.sha1(name.encode()).hexdigest()[:12]
        name = name[:MAX_NAME - 13] + "~" + h
    return name


class Job:
    def __init__(self, name, params, seed, argv):
        self.name = name
        self.params = params  # [(key, value)]
        self.seed = seed
        self.argv = argv      # cmmsim arguments, without the executable, -q and -o

    def to_json(self):
        d = {"name": self.name, "set": dict(self.params)}
        if self.seed is not None:
            d["seed"] = self.seed
        d["argv"] = self.argv
        return d


def expand(grid):
    """Cartesian product in grid order (the last key varies fastest, the seed
    innermost). Raises SweepError for an empty grid or colliding names."""
    if not grid.params and grid.seeds is None:
        raise SweepError("empty grid: give at least one --set KEY=V1,V2, --range KEY=START:STOP:STEP, "
                         "--seeds or --grid FILE")
    keys = grid.keys()
    seeds = grid.seeds if grid.seeds is not None else [None]
    jobs, names = [], {}
    for combo in itertools.product(*[vals for _, vals in grid.params]):
        params = list(zip(keys, combo))
        for seed in seeds:
            argv = []
            for k, v in params:
                argv += ["--set", f"{k}={v}"]
            if seed is not None:
                argv += ["--seed", str(seed)]
            argv += list(grid.args)
            name = run_name(params, seed)
            if name in names:
                raise SweepError(f"two runs get the same folder name {name!r}: "
                                 f"{names[name]} and {dict(params)} (values differ only in "
                                 "characters replaced by '_')")
            names[name] = dict(params)
            jobs.append(Job(name, params, seed, argv))
    return jobs


QUOTE_CHARS = re.compile(r"['\"\\]")


def job_line(cmmsim, run_dir, argv):
    """One POSIX-sh command line: creates the run folder, runs cmmsim into it
    (stdout+stderr to cmmsim.log), records the exit status in exit_status and
    ends with it as the line's status, without leaving the shell (so `sh
    jobs.txt` runs every line). Runnable unchanged by `parallel < jobs.txt`,
    by `sh -c LINE` (xargs, Slurm). Only arguments with characters special to
    the shell are quoted (shlex), so typical lines contain no quotes."""
    q = shlex.quote
    d = run_dir.rstrip("/")
    cmd = " ".join(q(a) for a in [cmmsim] + list(argv) + ["-q", "-o", d])
    return (f"mkdir -p {q(d)} && SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 {cmd} "
            f"> {q(d + '/cmmsim.log')} 2>&1; s=$?; echo $s > {q(d + '/exit_status')}; (exit $s)")


def needs_quotes(line):
    """True when plain `xargs -I{}` (which strips quotes) would change the line."""
    return bool(QUOTE_CHARS.search(line))


def slurm_script(jobs_file, out_dir, count, job_name="cmm-sweep", concurrency=None, sbatch_opts=()):
    """An sbatch job-array script: task N runs line N of the jobs file."""
    q = shlex.quote
    array = f"1-{count}" + (f"%{concurrency}" if concurrency else "")
    lines = [
        "#!/bin/bash",
        f"# CMM sweep: {count} cmmsim runs, one Slurm array task per line of",
        f"# {jobs_file}",
        "# Submit:   sbatch " + q(os.path.join(out_dir, "sweep.sbatch")),
        "# Then:     scripts/sweep merge " + q(out_dir),
        f"#SBATCH --job-name={job_name}",
        f"#SBATCH --array={array}",
        "#SBATCH --ntasks=1",
        "#SBATCH --cpus-per-task=1",
        f"#SBATCH --output={os.path.join(out_dir, 'slurm', '%A_%a.out')}",
    ]
    for o in sbatch_opts:
        lines.append(f"#SBATCH {o}")
    lines += [
        "set -euo pipefail",
        f"JOBS={q(jobs_file)}",
        ': "${SLURM_ARRAY_TASK_ID:?run this script with sbatch (it is a job array)}"',
        'LINE=$(sed -n "${SLURM_ARRAY_TASK_ID}p" "$JOBS")',
        'if [ -z "$LINE" ]; then',
        '  echo "sweep: no line ${SLURM_ARRAY_TASK_ID} in $JOBS" >&2',
        "  exit 2",
        "fi",
        'echo "sweep: task ${SLURM_ARRAY_TASK_ID}: $LINE"',
        'exec sh -c "$LINE"',
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Merge

def natural_key(text):
    """Sort key: digit runs compare as numbers (seed=2 before seed=10)."""
    return [(0, int(t), t) if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", text) if t != ""]


def read_row_csv(path):
    """row.csv: header + one value line -> dict (column order kept)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows = [r for r in rows if r]
    if len(rows) < 2:
        raise ValueError("no value line")
    header, values = rows[0], rows[1]
    if len(header) != len(values):
        raise ValueError(f"{len(header)} columns in the header, {len(values)} values")
    if len(set(header)) != len(header):
        raise ValueError("a column name is repeated")
    return dict(zip(header, values))


def merge_columns(rows):
    """Union of columns in a stable order: config_* columns first, then the
    others, each in order of first appearance over the (sorted) rows."""
    config, other = [], []
    seen = set()
    for row in rows:
        for c in row:
            if c in seen:
                continue
            seen.add(c)
            (config if c.startswith("config_") else other).append(c)
    return config + other


def first_error_line(paths, limit=200):
    """The first 'error:' line of the given files (cmmsim.log, summary.txt),
    else the last line of the first existing one; shortened to limit chars."""
    fallback = ""
    for p in paths:
        try:
            with open(p, encoding="utf-8", errors="replace") as f:
                lines = [ln.strip() for ln in f if ln.strip()]
        except OSError:
            continue
        for ln in lines:
            if ln.lower().startswith("error:") or ": error:" in ln.lower() or "configuration error" in ln.lower():
                return ln if len(ln) <= limit else ln[:limit - 3] + "..."
        if lines and not fallback:
            fallback = lines[-1]
    return fallback if len(fallback) <= limit else fallback[:limit - 3] + "..."


class MergeResult:
    def __init__(self):
        self.columns = []
        self.rows = []      # dicts incl. 'run' and 'exit_status'
        self.failed = []    # (name, reason)
        self.runs = []      # all run names considered
        self.unexpected = []  # run folders not in the sweep's grid
        self.meta = {}      # column -> {unit, desc, source}
        self.node_rows = []  # one dict per node per run (stats.json nodes[])
        self.node_columns = []
        self.node_meta = {}
        self.notes = []     # problems that do not fail the merge
        self.unit_conflicts = set()


def merge(out_dir):
    """Merges OUT/runs/*/row.csv. Runs listed in OUT/sweep.json that have no
    folder count as failed ("not run")."""
    load_key_meta(out_dir)
    runs_dir = os.path.join(out_dir, "runs")
    meta_path = os.path.join(out_dir, "sweep.json")
    expected = []
    if os.path.isfile(meta_path):
        try:
            with open(meta_path, encoding="utf-8") as f:
                expected = [r["name"] for r in json.load(f)["runs"]]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise SweepError(f"{meta_path}: unreadable sweep description ({e})") from None
    present = []
    if os.path.isdir(runs_dir):
        present = [n for n in os.listdir(runs_dir) if os.path.isdir(os.path.join(runs_dir, n))]
    if not present and not expected:
        raise SweepError(f"{out_dir}: no runs found (expected {runs_dir}/<run>/row.csv "
                         "or a sweep.json written by scripts/sweep)")
    res = MergeResult()
    exp_set = set(expected)
    res.unexpected = sorted((n for n in present if n not in exp_set), key=natural_key) if expected else []
    res.runs = sorted(set(present) | exp_set, key=natural_key)
    rows = []
    for name in res.runs:
        d = os.path.join(runs_dir, name)
        rel = os.path.join("runs", name)
        if not os.path.isdir(d):
            res.failed.append((name, "not run (no folder)"))
            continue
        status = ""
        reason = None
        st_path = os.path.join(d, "exit_status")
        if os.path.isfile(st_path):
            with open(st_path, encoding="utf-8", errors="replace") as f:
                status = f.read().strip()
            if status != "0":
                err = first_error_line([os.path.join(d, "cmmsim.log"), os.path.join(d, "summary.txt")])
                reason = (f"cmmsim exited with status {status or '(empty)'}"
                          + (f": {err}" if err else "") + f" (details: {rel}/summary.txt, cmmsim.log)")
        row_path = os.path.join(d, "row.csv")
        row = None
        if os.path.isfile(row_path):
            try:
                row = read_row_csv(row_path)
            except (OSError, ValueError, csv.Error) as e:
                reason = reason or f"malformed {rel}/row.csv: {e}"
        elif reason is None:
            reason = (f"no row.csv ({'exit status 0' if status == '0' else 'unfinished, killed or never started'}"
                      + (f"; see {rel}/cmmsim.log" if os.path.isfile(os.path.join(d, "cmmsim.log")) else "")
                      + ")")
        if reason:
            res.failed.append((name, reason))
        if row is not None:
            full = {"run": name, "exit_status": status}
            full.update({k: v for k, v in row.items() if k not in ("run", "exit_status")})
            stats_path = os.path.join(d, "stats.json")
            if os.path.isfile(stats_path):
                try:
                    flat, nodes = read_stats_json(stats_path)
                except (OSError, ValueError) as e:
                    res.notes.append(f"{rel}/stats.json unreadable ({e}); its statistics left out")
                    flat, nodes = [], []
                for col, val, unit, desc in flat:
                    if col not in full:
                        full[col] = fmt_value(val)
                    _note_meta(res, res.meta, col, unit, desc, rel)
                for n in nodes:
                    nrow = {"run": name}
                    for col, val, unit, desc in n:
                        nrow[col] = val if isinstance(val, str) else fmt_value(val)
                        _note_meta(res, res.node_meta, col, unit, desc, rel)
                    res.node_rows.append(nrow)
            rows.append(full)
    res.columns = ["run", "exit_status"] + [c for c in merge_columns(rows) if c not in ("run", "exit_status")]
    res.rows = rows
    res.node_columns = ["run"] + [c for c in merge_columns(res.node_rows) if c != "run"]
    for c in res.columns:
        if c not in res.meta:
            unit, desc = column_meta(c, res.meta, rows)
            if c in ("run", "exit_status"):
                src = "merge"
            elif c.startswith("config_"):
                src = "scenario key"
            elif c in ROW_ALIASES and ROW_ALIASES[c] in res.meta:
                src = "row.csv, = stats.json " + ROW_ALIASES[c]
            else:
                src = "row.csv"
            res.meta[c] = {"unit": unit, "desc": desc, "source": src}
    return res


def fmt_value(v):
    """A number as the CSV shows it: integers without a point, floats by repr."""
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    return str(v)


def _note_meta(res, meta, col, unit, desc, where):
    m = meta.get(col)
    if m is None:
        meta[col] = {"unit": unit, "desc": desc, "source": "stats.json"}
    elif m["unit"] != unit and (col, unit) not in res.unit_conflicts:
        res.unit_conflicts.add((col, unit))
        res.notes.append(f"{where}/stats.json: {col} has unit {unit!r}, other runs {m['unit']!r}; "
                         f"the column mixes units")


def csv_text(columns, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([r.get(c, "") for c in columns])
    return buf.getvalue()


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


# --------------------------------------------------------------------------
# Plot data

def to_float(text):
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.DictReader(f)
        return list(r.fieldnames or []), list(r)


def varying_config_columns(columns, rows, exclude=("config_seed",)):
    out = []
    for c in columns:
        if c.startswith("config_") and c not in exclude:
            if len({r.get(c, "") for r in rows}) > 1:
                out.append(c)
    return out


class Series:
    """One curve: group label, y column, points [(x, mean, min, max, n)]."""

    def __init__(self, group, ycol, points):
        self.group = group
        self.ycol = ycol
        self.points = points
        self.xrange = [(p[0], p[0]) for p in points]  # min..max of the x coordinate (xmean)
        self.keys = [p[0] for p in points]            # the grid point (bucket) of each point

    def label(self, multi_y):
        parts = [self.group] if self.group else []
        if multi_y or not parts:
            parts.append(self.ycol)
        return ", ".join(parts)


def aggregate(rows, x, ys, groups=(), xmean=None):
    """Groups rows by (group columns, x) and, per y column, takes mean, min and
    max over the rows (the seeds). Returns (series list, x is numeric,
    categorical x labels in order, count of rows without x). Rows whose y cell
    is empty or not a number do not count for that y. With xmean (a column),
    a point's x coordinate is the mean of that column over its rows (e.g. the
    measured offered load of the runs at one grid point)."""
    xs_raw = [r.get(x, "") for r in rows]
    numeric = all(to_float(v) is not None for v in xs_raw if v != "") and any(v != "" for v in xs_raw)
    cats = sorted({v for v in xs_raw if v != ""}, key=natural_key)
    cat_index = {v: i for i, v in enumerate(cats)}
    buckets = {}
    gorder = []
    skipped = 0
    for r in rows:
        xv = r.get(x, "")
        if xv == "":
            skipped += 1
            continue
        g = ", ".join(f"{c.replace('config_', '', 1)}={r.get(c, '')}" for c in groups)
        if g not in buckets:
            buckets[g] = {}
            gorder.append(g)
        xk = to_float(xv) if numeric else float(cat_index[xv])
        buckets[g].setdefault(xk, []).append(r)
    gorder.sort(key=natural_key)
    series = []
    for g in gorder:
        for y in ys:
            pts = []
            for xk in sorted(buckets[g]):
                pairs = []
                for r in buckets[g][xk]:
                    yv = to_float(r.get(y, ""))
                    xv = to_float(r.get(xmean, "")) if xmean else xk
                    if yv is not None and xv is not None:
                        pairs.append((xv, yv))
                if pairs:
                    vals = [p[1] for p in pairs]
                    xs = [p[0] for p in pairs]
                    px = sum(xs) / len(xs)
                    pts.append((px, sum(vals) / len(vals), min(vals), max(vals), len(vals), min(xs), max(xs), xk))
            if xmean:
                pts.sort(key=lambda p: p[0])
            if pts:
                s = Series(g, y, [p[:5] for p in pts])
                s.xrange = [(p[5], p[6]) for p in pts]
                s.keys = [p[7] for p in pts]
                series.append(s)
    return series, numeric, cats, skipped


def fmt_num(v):
    if v is None:
        return ""
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}"


def text_table(series, x, numeric, cats, title=""):
    """Aligned plain-text table: one line per (series, x)."""
    head = ["series", x, "n", "mean", "min", "max"]
    body = []
    multi_y = len({s.ycol for s in series}) > 1
    for s in series:
        for (xk, mean, lo, hi, n) in s.points:
            xs = fmt_num(xk) if numeric else cats[int(xk)]
            body.append([s.label(multi_y) if (s.group or multi_y) else s.ycol, xs, str(n),
                         fmt_num(mean), fmt_num(lo), fmt_num(hi)])
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    out = []
    if title:
        out.append(f"# {title}")
    for r in [head] + body:
        out.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# Units and descriptions of the columns (sweep-columns.json)
#
# stats.json shows every statistic as {"value", "unit", "desc"}. The merge
# flattens the scalar ones into dotted columns (latency.p99, load.offered_msgs,
# latency_parts.fabric.mean, system.rejects.BAD_KEY, ...) and records unit and
# description per column, so every plot axis reads "description [unit]".

STATS_SKIP = ("nodes", "channels", "attacks", "errors", "timeseries", "scenario", "seed", "provenance")
# Context for groups whose statistics have short descriptions ("mean").
STATS_CONTEXT = {"latency": "message latency", "fabric": "fabric", "stall_cycles": "stall",
                 "rejects": "", "drops": "", "shell_drops": "", "port_drops": "", "control_drops": "",
                 "agent_refused": ""}


def is_stat(v):
    return isinstance(v, dict) and "value" in v and "unit" in v


def _stat_desc(desc, key, context):
    desc = str(desc or "")
    if "this reason" in desc:
        desc = desc.replace("this reason", f"reason {key}")
    elif desc.endswith("reason ") or desc.endswith("opcode_reason "):
        desc = desc + key if not desc.endswith(key) else desc
    if not desc:
        desc = key
    return f"{context}: {desc}" if context else desc


def flatten_stats(obj, prefix="", context="", skip=STATS_SKIP):
    """[(column, value, unit, desc)] of every scalar statistic below obj
    (lists, strings and the skipped top-level keys left out)."""
    out = []
    if not isinstance(obj, dict):
        return out
    for k, v in obj.items():
        if not prefix and k in skip:
            continue
        col = prefix + k
        if is_stat(v):
            val = v["value"]
            if isinstance(val, bool):
                val = int(val)
            if isinstance(val, (int, float)):
                out.append((col, val, str(v.get("unit", "")), _stat_desc(v.get("desc", ""), k, context)))
        elif isinstance(v, dict):
            if isinstance(v.get("desc"), str) and "unit" not in v:
                ctx = f"latency part {k} ({v['desc']})" if prefix == "latency_parts." else v["desc"]
            else:
                ctx = STATS_CONTEXT.get(k, context)
            out.extend(flatten_stats(v, col + ".", ctx, skip=()))
    return out


# row.csv columns that are a stats.json statistic under another name.
ROW_ALIASES = {
    "offered_msgs": "load.offered_msgs", "offered_bytes": "load.offered_bytes",
    "accepted_msgs": "load.accepted_msgs", "accepted_bytes": "load.accepted_bytes",
    "channels_requested": "system.channels_requested", "channels_opened": "system.channels_opened",
    "connect_storm_cycles": "system.connect_storm_cycles", "messages_sent": "system.messages_sent",
    "messages_delivered": "system.messages_delivered", "refused_at_source": "system.refused_at_source",
    "nacks_reported": "system.nacks_reported", "latency_count": "latency.count", "latency_min": "latency.min",
    "latency_mean": "latency.mean", "latency_p50": "latency.p50", "latency_p90": "latency.p90",
    "latency_p99": "latency.p99", "latency_p99_9": "latency.p99_9", "latency_max": "latency.max",
    "simulated_cycles": "system.simulated_cycles", "scoreboard_clean": "system.scoreboard_clean",
}
# row.csv columns without a stats.json twin, and the merge's own columns.
ROW_META = {
    "run": ("", "run name (grid point and seed)"),
    "exit_status": ("", "cmmsim exit status"),
    "nodes": ("nodes", "nodes in the system"),
    "delivered_per_cycle": ("messages/cycle", "messages delivered per cycle, whole system over the whole run "
                                              "(not the measurement window)"),
    "errors": ("errors", "errors the run reported"),
}
# Scenario keys (config_* columns): units and descriptions come from cmmsim's
# own declarations (`cmmsim --keys-json`, saved by scripts/sweep as
# OUT/scenario-keys.json and loaded by merge() into KEY_META). CONFIG_META
# gives short labels for plot axes and legends (the declarations' descriptions
# are sentences), and units for sweeps run before scenario-keys.json existed.
KEY_META = {}
KEYS_FILE = "scenario-keys.json"


def load_key_meta(out_dir):
    """KEY_META from OUT/scenario-keys.json when scripts/sweep saved it."""
    path = os.path.join(out_dir, KEYS_FILE)
    KEY_META.clear()
    try:
        with open(path) as f:
            for k in json.load(f):
                KEY_META[k["path"]] = (k.get("unit", ""), k.get("desc", ""))
    except (OSError, ValueError, KeyError, TypeError):
        pass


CONFIG_META = {
    "seed": ("", "seed"),
    "topology": ("", "fabric topology"),
    "core": ("", "CMM core model"),
    "fabric_x": ("routers", "routers per row"),
    "fabric_y": ("routers", "rows of routers"),
    "link_bytes_per_cycle": ("bytes/cycle", "link width"),
    "link_latency_cycles": ("cycles", "link latency"),
    "router_delay_cycles": ("cycles", "router delay per flit"),
    "bus_latency_cycles": ("cycles", "node bus latency"),
    "buf_depth_flits": ("flits", "router input buffer depth"),
    "vcs_per_class": ("VCs", "virtual channels per message class"),
    "hol_lifetime_cycles": ("cycles", "head-of-queue lifetime at output ports"),
    "rx_poll_cycles": ("cycles", "receive polling interval of a process"),
    "warmup_cycles": ("cycles", "warm-up before the measurement window"),
    "measure_cycles": ("cycles", "measurement window"),
    "drain_cycles": ("cycles", "drain limit after the measurement window"),
    "max_cycles": ("cycles", "simulation limit"),
    "clock_ghz": ("GHz", "CMM clock"),
    "alarm_thresh": ("events", "reject-rate alarm threshold"),
    "traffic.offered_load": (None, "offered load set in the scenario (traffic.offered_load)"),
    "traffic.size.bytes": ("bytes", "message payload size"),
    "traffic.pattern.fanout": ("destinations", "destinations per terminal"),
    "traffic.pattern.name": ("", "traffic pattern"),
    "traffic.injection.process": ("", "injection process"),
}
LOAD_UNITS = {"messages_per_cycle": "messages/cycle/terminal", "bytes_per_cycle": "bytes/cycle/terminal"}


def config_meta(col, rows=()):
    """(unit, desc) of a config_* column."""
    key = col[len("config_"):]
    kunit, kdesc = KEY_META.get(key, (None, None))
    cunit, cdesc = CONFIG_META.get(key, (None, None))
    # Units from cmmsim's declarations; the short labels above read better in legends.
    unit = kunit if kunit is not None else (cunit or "")
    desc = cdesc or kdesc or f"scenario key {key}"
    if key == "traffic.offered_load":
        lu = {r.get("config_traffic.load_unit", "") for r in rows} - {""}
        unit = LOAD_UNITS.get(lu.pop(), "") if len(lu) == 1 else ""
    return unit or "", desc


def column_meta(col, meta, rows=()):
    """(unit, desc) of any sweep.csv column: from sweep-columns.json (the
    units stats.json declares), else the tables above, else ('', col)."""
    if col in meta:
        return meta[col].get("unit", ""), meta[col].get("desc", col)
    if col.startswith("config_"):
        return config_meta(col, rows)
    if col in ROW_ALIASES and ROW_ALIASES[col] in meta:
        m = meta[ROW_ALIASES[col]]
        return m.get("unit", ""), m.get("desc", col)
    if col in ROW_META:
        return ROW_META[col]
    return "", col


def axis_label(col, meta, rows=(), prefix=""):
    unit, desc = column_meta(col, meta, rows)
    text = f"{prefix}{desc}"
    return f"{text} [{unit}]" if unit else text


def read_stats_json(path):
    """(flat stats [(col, value, unit, desc)], node rows [[(col, value, unit, desc)]]) of a stats.json."""
    with open(path, encoding="utf-8") as f:
        j = json.load(f)
    if not isinstance(j, dict):
        raise ValueError("not a JSON object")
    flat = flatten_stats(j)
    nodes = []
    for i, n in enumerate(j.get("nodes", []) if isinstance(j.get("nodes"), list) else []):
        if not isinstance(n, dict):
            continue
        cols = [("node_index", i, "", "index in stats.json nodes[]")]
        if isinstance(n.get("node"), str):
            cols.append(("node", n["node"], "", "node name"))
        cols += flatten_stats(n, skip=())
        nodes.append(cols)
    return flat, nodes


def meta_json(meta, node_meta):
    return json.dumps({"about": "unit and description of every column of sweep.csv and sweep-nodes.csv "
                                "(from the runs' stats.json; row.csv and config_* columns from scripts/"
                                "cmm_sweep_lib.py)",
                       "columns": meta, "node_columns": node_meta}, indent=1, sort_keys=True) + "\n"


def read_meta(csv_path):
    """sweep-columns.json beside a sweep.csv: (columns meta, node columns meta); empty when absent."""
    p = os.path.join(os.path.dirname(os.path.abspath(csv_path)), "sweep-columns.json")
    try:
        with open(p, encoding="utf-8") as f:
            j = json.load(f)
        return dict(j.get("columns", {})), dict(j.get("node_columns", {}))
    except (OSError, ValueError, AttributeError):
        return {}, {}
