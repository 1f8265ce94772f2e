"""Shared code of scripts/sweep and scripts/plot (Python 3 standard library only).

Parameter grids and job lines (sweep), merging of per-run row.csv files,
aggregation over seeds and a small self-contained SVG line-chart writer (plot).
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
from xml.sax.saxutils import escape as _xml_escape


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


def merge(out_dir):
    """Merges OUT/runs/*/row.csv. Runs listed in OUT/sweep.json that have no
    folder count as failed ("not run")."""
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
            rows.append(full)
    res.columns = ["run", "exit_status"] + [c for c in merge_columns(rows) if c not in ("run", "exit_status")]
    res.rows = rows
    return res


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
                    px = sum(p[0] for p in pairs) / len(pairs)
                    pts.append((px, sum(vals) / len(vals), min(vals), max(vals), len(vals)))
            if xmean:
                pts.sort(key=lambda p: p[0])
            if pts:
                series.append(Series(g, y, pts))
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
# Minimal SVG line chart (no dependencies)

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def nice_ticks(lo, hi, target=6):
    """Round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(target - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = mag * 10
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            step = m * mag
            break
    first = math.floor(lo / step + 1e-9) * step
    ticks = []
    t = first
    while t < hi + step * 0.5 and len(ticks) < 50:
        ticks.append(round(t, 12))
        t += step
    if ticks[-1] < hi - 1e-12 * max(1.0, abs(hi)):
        ticks.append(round(t, 12))
    return ticks


def _log_ticks(lo, hi):
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if a == b:
        b += 1
    return [10.0 ** e for e in range(a, b + 1)]


def svg_chart(series, xlabel, ylabel, title="", numeric_x=True, categories=(),
              width=720, height=450, logy=False, diagonal=False):
    """An SVG line chart: one polyline with markers per series, error bars
    from min to max where they differ, axes with round ticks, a legend."""
    esc = _xml_escape
    ml, mr, mt, mb = 70, 20, 40 if title else 20, 55
    legend_rows = len(series)
    lh = 16
    height = height + legend_rows * lh
    pw, ph = width - ml - mr, height - mt - mb - legend_rows * lh
    xs = [p[0] for s in series for p in s.points]
    ylo = [p[2] for s in series for p in s.points]
    yhi = [p[3] for s in series for p in s.points]
    if not xs:
        xs, ylo, yhi = [0.0, 1.0], [0.0], [1.0]
    if logy:
        pos = [v for v in ylo + yhi if v > 0]
        if not pos:
            logy = False
    if numeric_x:
        xt = nice_ticks(min(xs), max(xs))
    else:
        xt = list(range(len(categories))) or [0]
    x0, x1 = (xt[0], xt[-1]) if numeric_x else (-0.5, max(len(categories) - 0.5, 0.5))
    if logy:
        yt = _log_ticks(min(pos), max(pos))
        y0, y1 = math.log10(yt[0]), math.log10(yt[-1])
    else:
        yt = nice_ticks(min(min(ylo), 0.0) if min(ylo) >= 0 else min(ylo), max(yhi))
        y0, y1 = yt[0], yt[-1]
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1

    def px(x):
        return ml + (x - x0) / (x1 - x0) * pw

    def py(y):
        if logy:
            y = math.log10(y) if y > 0 else y0
        return mt + ph - (y - y0) / (y1 - y0) * ph

    def f(v):
        return f"{v:.2f}".rstrip("0").rstrip(".")

    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
         f'<rect width="{width}" height="{height}" fill="white"/>']
    if title:
        o.append(f'<text x="{f(width / 2)}" y="24" text-anchor="middle" font-size="15">{esc(title)}</text>')
    # grid and ticks
    for t in yt:
        y = py(t)
        o.append(f'<line x1="{ml}" y1="{f(y)}" x2="{ml + pw}" y2="{f(y)}" stroke="#e0e0e0"/>')
        o.append(f'<text x="{ml - 6}" y="{f(y + 4)}" text-anchor="end">{esc(fmt_num(t))}</text>')
    for i, t in enumerate(xt):
        x = px(t)
        lab = fmt_num(t) if numeric_x else (categories[t] if t < len(categories) else "")
        o.append(f'<line x1="{f(x)}" y1="{mt}" x2="{f(x)}" y2="{mt + ph}" stroke="#e0e0e0"/>')
        o.append(f'<text x="{f(x)}" y="{mt + ph + 16}" text-anchor="middle">{esc(lab)}</text>')
    o.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="black"/>')
    o.append(f'<text x="{f(ml + pw / 2)}" y="{mt + ph + 36}" text-anchor="middle">{esc(xlabel)}</text>')
    o.append(f'<text transform="translate(16 {f(mt + ph / 2)}) rotate(-90)" text-anchor="middle">{esc(ylabel)}</text>')
    if diagonal and numeric_x and not logy:
        lo, hi = max(x0, y0), min(x1, y1)
        if hi > lo:
            o.append(f'<line x1="{f(px(lo))}" y1="{f(py(lo))}" x2="{f(px(hi))}" y2="{f(py(hi))}" '
                     'stroke="#999" stroke-dasharray="4 4"/>')
    multi_y = len({s.ycol for s in series}) > 1
    for i, s in enumerate(series):
        c = PALETTE[i % len(PALETTE)]
        pts = " ".join(f"{f(px(p[0]))},{f(py(p[1]))}" for p in s.points)
        o.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.8" points="{pts}"/>')
        for (xk, mean, lo, hi, n) in s.points:
            X, Y = px(xk), py(mean)
            if hi > lo:
                o.append(f'<line x1="{f(X)}" y1="{f(py(lo))}" x2="{f(X)}" y2="{f(py(hi))}" stroke="{c}"/>')
                for yy in (lo, hi):
                    o.append(f'<line x1="{f(X - 4)}" y1="{f(py(yy))}" x2="{f(X + 4)}" y2="{f(py(yy))}" stroke="{c}"/>')
            o.append(f'<circle cx="{f(X)}" cy="{f(Y)}" r="3" fill="{c}"/>')
        ly = mt + ph + 50 + i * lh
        o.append(f'<line x1="{ml}" y1="{ly - 4}" x2="{ml + 24}" y2="{ly - 4}" stroke="{c}" stroke-width="1.8"/>')
        o.append(f'<circle cx="{ml + 12}" cy="{ly - 4}" r="3" fill="{c}"/>')
        o.append(f'<text x="{ml + 32}" y="{ly}">{esc(s.label(multi_y))}</text>')
    o.append("</svg>")
    return "\n".join(o) + "\n"
