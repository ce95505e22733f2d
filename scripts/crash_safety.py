#!/usr/bin/python3
"""Crash safety of thanos (issue 27): SIGKILL `thanos run`, `train`, `measure` and `search` at
random points, resume each with its resume command until it completes, and check that

  * after every kill no output file is half-written: every JSON parses, every JSON-lines and CSV
    file has whole lines (and the CSV a constant column count), every model file loads
    (`thanos info`), every ONNX graph parses, every binarized split and sentencepiece model
    matches its prepared manifest; temporary files left behind are listed, not taken as outputs;
  * the completed chain's outputs equal an uninterrupted run's, apart from timings: the same
    files, JSON and CSV equal with timing keys and columns removed (TIMING_KEYS below: seconds,
    rates, ETAs, timestamps, wall times), model and ONNX files byte for byte, text byte for byte
    (report.md/.html with durations masked).

Measurement is made deterministic by a fake isolated-measurement worker (THANOS_WORKER_BINARY;
docs/MEASUREMENT_ISOLATION.md's protocol): it answers a latency and memory computed from the
config. Training runs on one thread (--threads 1), which resumes bitwise (docs/TRAINING.md).
Before any kill, a control: two uninterrupted runs of each command must compare equal under the
same normalisation, else the harness stops and says what differs.

  /usr/bin/python3 scripts/crash_safety.py --thanos build/thanos --trials 60 --seed 1 \\
      --out docs/results/crash_safety.json
  /usr/bin/python3 scripts/crash_safety.py --thanos build/thanos --quick     # a few kills, ~2 min
  /usr/bin/python3 scripts/crash_safety.py --table-from docs/results/crash_safety.json --doc docs/RELIABILITY.md

Python 3 standard library only. Exit status: 0 all chains resumed and equal with nothing
half-written, 1 otherwise, 2 the control failed or bad usage.
"""
import argparse
import csv
import hashlib
import io
import json
import os
import pickle
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import zipfile

# ---------------------------------------------------------------------------------- the inputs

WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "red", "green", "blue", "cat",
         "dog", "bird"]

# tests/translation_fixture.h's space: tiny, every elastic dimension.
SPACE_YAML = """share-all-embeddings: true
encoder-embed-choice: [32, 16]
decoder-embed-choice: [32, 16]
encoder-ffn-embed-dim-choice: [64, 32]
decoder-ffn-embed-dim-choice: [64, 32]
encoder-layer-num-choice: [2]
decoder-layer-num-choice: [2, 1]
encoder-self-attention-heads-choice: [4, 2]
decoder-self-attention-heads-choice: [4, 2]
decoder-ende-attention-heads-choice: [4, 2]
decoder-arbitrary-ende-attn-choice: [-1, 1]
qkv-dim: 32
"""

# tests/test_pipeline.cc's tiny run config, every stage.
RUN_YAML = """name: crash
seed: 3
corpus: {path: corpus, vocab_size: 400}
space: space.yml
target: {device: cpu, threads: 1, protocol: quick}
budgets: [{name: tight, latency: 1000ms, memory: 1000MiB}]
super: {updates: 40, max_tokens: 300, lr: 0.003, warmup: 5}
measure: {samples: 18, cooldowns: 0}
search: {strategy: evo, settings: {population: 8, parents: 3, mutations: 3, crossovers: 2, iterations: 2}, valid_subset: 20, rerank: 2, top_k: 2, margin: 0}
final: {mode: finetune, finalists: 2, updates: 12, max_tokens: 300, lr: 0.001, warmup: 2}
evaluate: {max_len_a: 0.5, max_len_b: 12}
export: {static: [40, 16]}
stage_budget_minutes: {prepare: 1, super: 2, measure: 2, predictors: 1, search: 2, final: 2, evaluate: 1, export: 1, report: 1}
"""

# The fake measure-worker: one MeasureRequest JSON on stdin, one Measurement JSON line on stdout
# (src/hw/measurement_json.cc's fields). Latency and memory are functions of the config alone
# (larger layers cost more), so every run measures the same numbers.
FAKE_WORKER = r'''#!/usr/bin/python3
import json, os, sys, time
req = json.loads(sys.stdin.read())
cfg = req["config"]

def size(side):
    total = side["embed_dim"] * 4
    for layer in side["layers"]:
        total += sum(v if isinstance(v, int) else 0 for v in layer.values())
    return total

enc, dec = size(cfg["encoder"]), size(cfg["decoder"])
time.sleep(float(os.environ.get("CRASH_FAKE_WORKER_SLEEP", "0.05")))
run = req["run"]
print(json.dumps({
    "feasible": True, "infeasible_reason": "",
    "encoder_mean_ms": round(0.5 + enc / 200.0, 4), "encoder_std_ms": 0.01,
    "decoder_mean_ms": round(1.0 + dec / 100.0, 4), "decoder_std_ms": 0.02,
    "peak_memory_mib": round(2.0 + (enc + dec) / 150.0, 4), "memory_kind": "rss-peak-minus-baseline",
    "baseline_memory_mib": 100.0, "backend": run["device"], "device_name": "crash-harness fake worker",
    "threads": run["threads"], "interop_threads": run["interop_threads"], "dtype": req["protocol"]["dtype"],
    "host": "crash-harness", "library_versions": "fake worker", "cap_mechanism": "none",
    "memory_cap_mib": run["memory_cap_mib"], "cpu_freq_mhz": None, "temperature_c": None, "wall_s": 0.0}))
'''


def write_reversal_corpus(prefix, n, seed):
    """Target = the source words upper-cased and reversed (translation_fixture.h's task)."""
    rng = random.Random(seed)
    with open(prefix + ".en", "w") as en, open(prefix + ".de", "w") as de:
        for _ in range(n):
            words = [WORDS[rng.randrange(16)] for _ in range(1 + rng.randrange(7))]
            en.write(" ".join(words) + "\n")
            de.write(" ".join(w.upper() for w in reversed(words)) + "\n")


# ---------------------------------------------------------------------------------- normalisation

# Keys whose values are timings (seconds, rates, ETAs, timestamps, wall times): the only things
# dropped before comparing. Anything else that differs is reported.
TIMING_KEYS = {"seconds", "elapsed_seconds", "eta_seconds", "tokens_per_second", "sentences_per_second",
               "sentences_per_second_end_to_end", "sentences_per_second_decoding", "wall_s", "measured_at",
               "timings", "time", "date", "started_at", "finished_at"}
# A predictor's provenance.data_hash is the hash of its dataset file's text, which holds each row's
# measured_at and wall_s: it follows the timings. It is checked instead against the dataset file
# it names (data_hash_problems), whose rows are compared apart from those two columns.
TIMING_KEYS |= {"data_hash"}
TIMING_KEY_RE = re.compile(r"(^|_)(seconds|secs|per_second|wall|eta|elapsed|timestamp)(_|$)|_(us|ms|s)_per_")
# report.md and report.html tables: columns whose header names a timing, and the stage table's
# status (ran/cached: history, as above).
TIMING_HEADER_RE = re.compile(r"^(seconds|took|elapsed|time)$|/s\b|per second")
HISTORY_HEADERS = {"status"}


# Keys that say how this run went rather than what it made: whether a stage was cached, how many
# evaluations a search replayed from its log. A resumed run differs there by design; they are
# compared apart and listed (history_differences), not counted as failures.
HISTORY_KEYS = {"cached", "replayed", "this_run", "already_in_file", "resumed"}
# `thanos measure`'s summary (also the measure stage's record) describes the last invocation: after
# a resume its counts and its estimate error cover the rows that invocation measured. Within an
# object that has "already_in_file", these are history too.
MEASURE_INVOCATION_KEYS = {"measured", "infeasible", "remeasured", "flagged", "interrupted", "reference_measurements",
                           "reference_mean_ms", "reference_cv", "memory_estimate_mape_percent"}


def history_keys_of(obj):
    return HISTORY_KEYS | (MEASURE_INVOCATION_KEYS if "already_in_file" in obj else set())


def is_timing_key(key):
    return key in TIMING_KEYS or bool(TIMING_KEY_RE.search(key))


def strip_timings(value, history=False):
    """`value` without its timing keys (and, with history=True, its history keys)."""
    if isinstance(value, dict):
        drop = history_keys_of(value) if history else ()
        return {k: strip_timings(v, history) for k, v in value.items() if not is_timing_key(k) and k not in drop}
    if isinstance(value, list):
        return [strip_timings(v, history) for v in value]
    return value


def only_history(value):
    """The history keys' values, by path."""
    out = {}

    def walk(v, path):
        if isinstance(v, dict):
            keys = history_keys_of(v)
            for k, x in v.items():
                if k in keys:
                    out[path + "/" + k] = x
                else:
                    walk(x, path + "/" + k)
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, "%s[%d]" % (path, i))
    walk(value, "")
    return out


def first_difference(a, b, path=""):
    """The first path where two JSON values differ, with both values (short)."""
    if type(a) != type(b):
        return "%s: %s vs %s" % (path or "/", json.dumps(a)[:80], json.dumps(b)[:80])
    if isinstance(a, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return "%s/%s: only in %s" % (path, k, "reference" if k in a else "resumed")
            d = first_difference(a[k], b[k], path + "/" + k)
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: %d vs %d items" % (path or "/", len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    return None if a == b else "%s: %s vs %s" % (path or "/", json.dumps(a)[:80], json.dumps(b)[:80])


# Temporary names: write_file_atomically's PATH.tmp.PID, prepare's staging and old folders, ...
TEMP_RE = re.compile(r"(\.tmp\.\d+$|\.tmp$|\.old\.\d+$|\.tmp\.|^tmp|\.partial$|\.staging)")


def is_temp(relpath):
    return any(TEMP_RE.search(part) for part in relpath.split("/"))


def list_files(root):
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            out.append(os.path.relpath(os.path.join(d, f), root))
    return sorted(out)


# ---------------------------------------------------------------------------------- integrity


class Checker:
    """Whether a file is whole, by its kind. Model and ONNX checks run `thanos`; they are cached by
    (path, size, mtime) so an unchanged file is checked once."""

    def __init__(self, thanos, env):
        self.thanos, self.env, self.cache = thanos, env, {}

    def tool_ok(self, args):
        r = subprocess.run([self.thanos] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self.env,
                           timeout=120)
        return r.returncode, r.stdout.decode("utf-8", "replace")

    def check(self, root, rel):
        """None when whole, else what is wrong."""
        path = os.path.join(root, rel)
        st = os.stat(path)
        key = (path, st.st_size, st.st_mtime_ns)
        if key in self.cache:
            return self.cache[key]
        problem = self._check(path, rel)
        self.cache[key] = problem
        return problem

    def _check(self, path, rel):
        data = open(path, "rb").read()
        name = os.path.basename(rel)
        if name.endswith(".json"):
            try:
                json.loads(data)
            except ValueError as e:
                return "JSON does not parse (%s)" % e
        elif name.endswith(".jsonl"):
            if data and not data.endswith(b"\n"):
                return "unterminated last line"
            for i, line in enumerate(data.decode("utf-8").splitlines()):
                try:
                    json.loads(line)
                except ValueError:
                    return "line %d does not parse" % (i + 1)
        elif name.endswith(".csv"):
            if data and not data.endswith(b"\n"):
                return "unterminated last line"
            rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
            widths = {len(r) for r in rows if r}
            if len(widths) > 1:
                return "rows of %s columns" % sorted(widths)
        elif name.endswith(".pt"):
            code, out = self.tool_ok(["info", "--checkpoint", path])
            if code != 0:
                return "thanos info fails (exit %d): %s" % (code, out.strip()[-200:])
        elif name.endswith(".onnx"):
            code, out = self.tool_ok(["rknn-check", "--json", path])
            if "not an ONNX model" in out or "cannot open" in out or code not in (0, 1):
                return "rknn-check cannot read it (exit %d): %s" % (code, out.strip()[-200:])
        elif name.endswith(".bin") and data[:8] == b"THNSBIN1":
            n = struct.unpack_from("<Q", data, 8)[0]
            offsets = struct.unpack_from("<%dQ" % (2 * (n + 1)), data, 16)
            expected = 16 + 16 * (n + 1) + 4 * (offsets[n] + offsets[2 * n + 1])
            if len(data) != expected:
                return "binarized split of %d bytes, its header says %d" % (len(data), expected)
        elif name.endswith((".yml", ".yaml", ".hyp", ".md", ".txt")) or ".raw." in name:
            if data and not data.endswith(b"\n"):
                return "no final newline"
        elif name.endswith(".html"):
            if b"</html>" not in data[-64:]:
                return "no closing </html>"
        return None


def fnv1a64(data):
    h = 1469598103934665603
    for c in data:
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def manifest_problems(root):
    """A prepared folder's manifest names the hashes of its binarized splits and sentencepiece model."""
    problems = []
    for d, _, files in os.walk(root):
        if "manifest.json" not in files or is_temp(os.path.relpath(d, root)):
            continue
        try:
            m = json.load(open(os.path.join(d, "manifest.json")))
        except ValueError:
            continue  # reported by the JSON check
        if m.get("format") != "thanos.prepared":
            continue
        wanted = [(m.get("spm_model", "spm.model"), m.get("spm_hash"))]
        wanted += [(s.get("file"), s.get("hash")) for s in m.get("splits", {}).values()]
        for f, h in wanted:
            p = os.path.join(d, os.path.basename(f or ""))
            if not f or not h or not os.path.exists(p):
                problems.append("%s: %s missing" % (os.path.relpath(d, root), f))
            elif fnv1a64(open(p, "rb").read()) != h:
                problems.append("%s: hash differs from the manifest's" % os.path.relpath(p, root))
    return problems


def data_hash_problems(root):
    """Every predictor's provenance.data_hash is the hash of the dataset file it names."""
    problems = []
    for rel in list_files(root):
        if not rel.endswith(".json") or is_temp(rel):
            continue
        try:
            j = json.load(open(os.path.join(root, rel)))
        except ValueError:
            continue
        pv = j.get("provenance") if isinstance(j, dict) else None
        if not isinstance(pv, dict) or "data_hash" not in pv or not pv.get("data_path"):
            continue
        if not os.path.exists(pv["data_path"]):
            problems.append("%s: its dataset %s is missing" % (rel, pv["data_path"]))
        elif fnv1a64(open(pv["data_path"], "rb").read()) != pv["data_hash"]:
            problems.append("%s: provenance.data_hash is not the hash of %s" % (rel, pv["data_path"]))
    return problems


def integrity(checker, root):
    """(half-written files with what is wrong, temporary files left)"""
    bad, temps = [], []
    if not os.path.exists(root):
        return bad, temps
    for rel in list_files(root):
        if is_temp(rel):
            temps.append(rel)
            continue
        try:
            problem = checker.check(root, rel)
        except Exception as e:  # a file that vanished or cannot be read
            problem = "unreadable (%s)" % e
        if problem:
            bad.append("%s: %s" % (rel, problem))
    bad += manifest_problems(root)
    return bad, temps


# ---------------------------------------------------------------------------------- model files

# A model file is libtorch's archive: a zip whose data.pkl pickles nested objects of attributes
# with tensors stored in data/<key>. Its bytes differ between identical runs: libtorch 1.13 keys the
# optimizer's state by each parameter's address ("0x55..."), which moves from run to run, and the
# storage numbering follows that order. So model files are compared by content: the pickle read
# with stub classes, tensors as their storage bytes, parameter addresses replaced by the
# parameter's index in the optimizer's param_groups.


class _Stub:
    def __init__(self, *args):
        self.args = args
        self.state = None

    def __setstate__(self, state):
        self.state = state


class _ArchiveUnpickler(pickle.Unpickler):
    def __init__(self, data, storages):
        super().__init__(io.BytesIO(data))
        self.storages = storages

    def find_class(self, module, name):
        if name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return lambda storage, offset, size, stride, *rest: ("tensor", storage, offset, tuple(size), tuple(stride))
        if module.startswith("torch.jit"):
            return lambda *a: a[0] if a else None
        if module == "torch" and name.endswith("Storage"):
            return name
        if module == "collections" and name == "OrderedDict":
            return dict
        return _Stub

    def persistent_load(self, pid):
        # ('storage', storage type, key, location, numel)
        return ("storage", pid[1], self.storages(str(pid[2])))


ADDRESS_RE = re.compile(r"^0x[0-9a-f]+$")


def model_content(path):
    """The archive's content with addresses replaced by parameter indices (see above)."""
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = next(n for n in names if n.endswith("/data.pkl") and n.count("/") == 1)
        prefix = pkl[: -len("data.pkl")]
        root = _ArchiveUnpickler(z.read(pkl), lambda key: hashlib.sha256(z.read(prefix + "data/" + key)).hexdigest()).load()

    def plain(v):
        if isinstance(v, _Stub):
            return plain(v.state if v.state is not None else list(v.args))
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v
    tree = plain(root)
    order = {}

    def collect(v):
        # libtorch's optimizer archive: param_groups/G/params/I = the address of parameter I.
        if isinstance(v, dict):
            listed = sorted((int(k.split("/")[1]), x) for k, x in v.items() if re.match(r"^params/\d+$", k))
            for _, a in listed:
                if isinstance(a, str) and ADDRESS_RE.match(a):
                    order.setdefault(a, "param#%d" % len(order))
            for x in v.values():
                collect(x)
        elif isinstance(v, list):
            for x in v:
                collect(x)
    collect(tree)

    def rename(v):
        if isinstance(v, dict):
            return {order.get(k, k): rename(x) for k, x in v.items()}
        if isinstance(v, list):
            return [rename(x) for x in v]
        if isinstance(v, str) and ADDRESS_RE.match(v):
            return order.get(v, "unmatched address")
        return v
    return rename(tree)


# ---------------------------------------------------------------------------------- comparison


def read_csv_rows(path):
    rows = list(csv.reader(io.StringIO(open(path).read())))
    if not rows:
        return rows
    keep = [i for i, c in enumerate(rows[0]) if not is_timing_key(c)]
    return [[r[i] if i < len(r) else None for i in keep] for r in rows]


def mask_report_tables(text):
    """The report's tables with timing and history cells replaced by <t> and <h>: a table's first
    row is its header (markdown: lines starting with '|'; HTML: one <tr> per line)."""
    out, header = [], None
    for line in text.split("\n"):
        if line.startswith("|"):
            cells, sep = line.strip().strip("|").split("|"), "|"
        elif line.startswith("<tr><td>"):
            cells, sep = line[len("<tr><td>"):-len("</td></tr>")].split("</td><td>"), "</td><td>"
        else:
            header = None
            out.append(line)
            continue
        if set(line.strip()) <= set("|-: "):  # markdown's separator row
            out.append(line)
            continue
        if header is None:
            header = [c.strip() for c in cells]
            out.append(line)
            continue
        masked = [("<t>" if TIMING_HEADER_RE.search(h) else "<h>" if h in HISTORY_HEADERS else c) if i < len(header) else c
                  for i, (c, h) in enumerate(zip(cells, header + [""] * len(cells)))]
        out.append(sep.join(masked))
    return "\n".join(out)


def compare_file(ref, got, rel, history):
    """None when equal apart from timings (and history keys, whose differences go to `history`),
    else the first difference."""
    a, b = os.path.join(ref, rel), os.path.join(got, rel)
    name = os.path.basename(rel)
    if name.endswith((".json", ".jsonl")):
        if name.endswith(".json"):
            ja, jb = json.load(open(a)), json.load(open(b))
        else:
            ja = [json.loads(x) for x in open(a).read().splitlines()]
            jb = [json.loads(x) for x in open(b).read().splitlines()]
        ha, hb = only_history(ja), only_history(jb)
        history += ["%s%s: %s vs %s" % (rel, k, json.dumps(ha.get(k)), json.dumps(hb.get(k)))
                    for k in sorted(set(ha) | set(hb)) if ha.get(k) != hb.get(k)]
        return first_difference(strip_timings(ja, True), strip_timings(jb, True))
    if name.endswith(".csv"):
        ra, rb = read_csv_rows(a), read_csv_rows(b)
        if len(ra) != len(rb):
            return "%d vs %d rows" % (len(ra), len(rb))
        for i, (x, y) in enumerate(zip(ra, rb)):
            if x != y:
                col = next(j for j in range(len(x)) if j >= len(y) or x[j] != y[j])
                return "row %d column %s: %r vs %r" % (i, ra[0][col], x[col], y[col] if col < len(y) else None)
        return None
    if name.endswith(".pt"):
        d = first_difference(model_content(a), model_content(b))
        return d and "model content differs: " + d
    da, db = open(a, "rb").read(), open(b, "rb").read()
    if name.endswith((".md", ".html")):
        da, db = mask_report_tables(da.decode()).encode(), mask_report_tables(db.decode()).encode()
    if da == db:
        return None
    if name.endswith((".md", ".html", ".yml", ".hyp", ".txt")):
        la, lb = da.decode(errors="replace").splitlines(), db.decode(errors="replace").splitlines()
        for i, (x, y) in enumerate(zip(la, lb)):
            if x != y:
                return "line %d: %r vs %r" % (i + 1, x[:100], y[:100])
        return "%d vs %d lines" % (len(la), len(lb))
    return "bytes differ (%d vs %d bytes)" % (len(da), len(db))


def compare_trees(ref, got):
    """(differences, history differences, temporary files left in `got`)"""
    fa = [f for f in list_files(ref) if not is_temp(f)]
    fb_all = list_files(got)
    fb = [f for f in fb_all if not is_temp(f)]
    diffs = ["only in the reference: " + f for f in sorted(set(fa) - set(fb))]
    diffs += ["only in the resumed run: " + f for f in sorted(set(fb) - set(fa))]
    history = []
    for rel in sorted(set(fa) & set(fb)):
        try:
            d = compare_file(ref, got, rel, history)
        except Exception as e:
            d = "cannot compare (%s)" % e
        if d:
            diffs.append("%s: %s" % (rel, d))
    return diffs, history, [f for f in fb_all if is_temp(f)]


# ---------------------------------------------------------------------------------- commands


class Command:
    """One thanos command under test: how to run it fresh and resumed, and the folder it writes."""

    def __init__(self, name, first, resume, out_dir, ok_codes=(0,)):
        self.name, self.first, self.resume, self.out_dir, self.ok_codes = name, first, resume, out_dir, ok_codes
        self.duration = None
        self.ref_code = None


def start(argv, env, log):
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def run_to_end(argv, env, log_path, timeout=900):
    t0 = time.monotonic()
    with open(log_path, "ab") as log:
        p = start(argv, env, log)
        try:
            code = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            code = "timeout"
    return code, time.monotonic() - t0


def run_until(argv, env, log_path, kill_at):
    """Runs argv; SIGKILLs its whole process group (thanos and its workers) at kill_at seconds.
    Returns (exit code or None when killed, seconds)."""
    t0 = time.monotonic()
    with open(log_path, "ab") as log:
        p = start(argv, env, log)
        try:
            code = p.wait(timeout=kill_at)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
            # The process may have ended between the timeout and the kill.
            code = None if p.returncode == -signal.SIGKILL else p.returncode
    return code, time.monotonic() - t0


def clear(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


# ---------------------------------------------------------------------------------- the harness


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--thanos", help="the thanos binary")
    ap.add_argument("--table-from", metavar="RESULT", help="only rewrite --doc's table from this result file")
    ap.add_argument("--trials", type=int, default=60, help="kills in all, shared among the commands (default 60)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the kill times")
    ap.add_argument("--out", help="result file (JSON)")
    ap.add_argument("--work", default="/tmp/thanos-crash-safety", help="scratch folder (replaced)")
    ap.add_argument("--commands", default="run,train,measure,search", help="which commands, comma-separated")
    ap.add_argument("--kills-per-chain", type=int, default=3, help="most kills before a chain is let finish")
    ap.add_argument("--quick", action="store_true", help="2 kills per command, no result file unless --out")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--doc-block", default="crash-safety", help="the markers' name (default crash-safety)")
    ap.add_argument("--doc", help="rewrite the table between <!-- crash-safety:begin --> and <!-- crash-safety:end --> "
                                  "in this file (docs/RELIABILITY.md)")
    args = ap.parse_args()
    if args.table_from:
        if not args.doc:
            ap.error("--table-from needs --doc")
        report = json.load(open(args.table_from))
        for s in report["summary"]:  # result files written before the column existed
            cs = [c for c in report["chains"] if c["command"] == s["command"]]
            s["chains_leaving_temporary_files"] = sum(bool(c["temp_files_at_end"] or c["scratch_left_in_tmpdir"]) for c in cs)
        report["table"] = markdown_table(report["summary"])
        write_doc_table(args.doc, report, args.table_from, args.doc_block)
        return
    if not args.thanos:
        ap.error("--thanos is required")

    thanos = os.path.abspath(args.thanos)
    if not os.access(thanos, os.X_OK):
        sys.exit("crash_safety: %s is not an executable" % thanos)
    names = [c for c in args.commands.split(",") if c]
    for c in names:
        if c not in ("run", "train", "measure", "search"):
            ap.error("--commands: unknown %r" % c)
    if args.quick:
        args.trials = 2 * len(names)
        args.kills_per_chain = 2
    rng = random.Random(args.seed)
    commit = git_commit()
    wall0 = time.monotonic()
    load_before = os.getloadavg()

    base = os.path.abspath(args.work)
    clear(base)
    os.makedirs(base + "/corpus")
    os.makedirs(base + "/logs")
    write_reversal_corpus(base + "/corpus/train", 300, 1)
    write_reversal_corpus(base + "/corpus/valid", 30, 2)
    write_reversal_corpus(base + "/corpus/test", 20, 3)
    open(base + "/space.yml", "w").write(SPACE_YAML)
    open(base + "/run.yml", "w").write(RUN_YAML)
    worker = base + "/fake_worker.py"
    open(worker, "w").write(FAKE_WORKER)
    os.chmod(worker, 0o755)
    # TMPDIR: thanos' scratch folders (TempDir: sentencepiece's files, ONNX checks) land where a
    # kill's leftovers can be counted.
    systmp = base + "/systmp"
    os.makedirs(systmp)
    # THANOS_ALLOW_BUSY: its figures are fake (the worker above); crash safety is what is tested.
    env = dict(os.environ, THANOS_ALLOW_BUSY="1", THANOS_WORKER_BINARY=worker, OMP_NUM_THREADS="1", TMPDIR=systmp)
    checker = Checker(thanos, env)
    W = base + "/out"  # every run of every command writes here: paths inside outputs stay the same

    def log(msg):
        print("[%6.1fs] %s" % (time.monotonic() - wall0, msg), flush=True)

    # Inputs of train, measure and search: a prepared corpus and a SuperTransformer.
    T = [thanos, "--threads", "1"]
    setup_log = base + "/logs/setup.log"
    code, _ = run_to_end(T + ["prepare", "--train", base + "/corpus/train", "--valid", base + "/corpus/valid", "--test",
                              base + "/corpus/test", "--src-lang", "en", "--tgt-lang", "de", "--vocab-size", "60", "--out",
                              base + "/prepared"], env, setup_log)
    if code != 0:
        sys.exit("crash_safety: thanos prepare failed (%s); see %s" % (code, setup_log))
    train_args = T + ["train", "--data", base + "/prepared", "--space", base + "/space.yml", "--save-dir", W,
                      "--max-updates", "250", "--max-tokens", "300", "--lr", "0.003", "--warmup-updates", "5", "--save-every",
                      "25", "--log-every", "1", "--keep-last", "2", "--seed", "3"]
    code, _ = run_to_end(T + ["train", "--data", base + "/prepared", "--space", base + "/space.yml", "--save-dir",
                              base + "/super", "--max-updates", "20", "--max-tokens", "300", "--lr", "0.003",
                              "--warmup-updates", "5", "--seed", "3"], env, setup_log)
    if code != 0:
        sys.exit("crash_safety: thanos train (the SuperTransformer for search) failed (%s); see %s" % (code, setup_log))
    search_args = T + ["search", "--checkpoint", base + "/super/checkpoint_last.pt", "--data", base + "/prepared",
                       "--strategy", "evo", "--set", "population=10", "--set", "parents=3", "--set", "mutations=4", "--set",
                       "crossovers=3", "--set", "iterations=12", "--seed", "5", "--protocol", "quick", "--memory-mb",
                       "100000", "--verify-device", "cpu", "--top-k", "2", "--out", W]
    measure_args = T + ["measure", "--space", base + "/space.yml", "--device", "cpu", "--samples", "24", "--out",
                        W + "/latency.csv", "--protocol", "quick", "--vocab-size", "60", "--seed", "2", "--reference-every",
                        "5", "--json"]
    commands = {
        "run": Command("run", T + ["run", base + "/run.yml", "--workdir", W], T + ["run", base + "/run.yml", "--workdir", W],
                       W, ok_codes=(0, 3)),
        "train": Command("train", train_args, train_args + ["--resume"], W),
        "measure": Command("measure", measure_args, measure_args, W),
        "search": Command("search", search_args, search_args, W),
    }
    log("setup done; control: two uninterrupted runs of each command")

    # Control: two uninterrupted runs must compare equal; the first is the reference.
    refs, control = {}, {}
    for name in names:
        cmd = commands[name]
        results = []
        for k in ("a", "b"):
            clear(W)
            if name == "measure":
                os.makedirs(W)
            code, secs = run_to_end(cmd.first, env, "%s/logs/%s-control-%s.log" % (base, name, k))
            if code not in cmd.ok_codes:
                sys.exit("crash_safety: control run of %s failed (exit %s); see %s/logs" % (name, code, base))
            dest = "%s/ref-%s-%s" % (base, name, k)
            os.rename(W, dest)
            results.append((code, secs, dest))
        diffs, _, _ = compare_trees(results[0][2], results[1][2])
        bad, temps = integrity(checker, results[0][2])
        control[name] = {"seconds": [round(results[0][1], 2), round(results[1][1], 2)], "exit": results[0][0],
                         "differences": diffs, "half_written": bad, "temp_files": temps}
        log("control %s: %.1f s and %.1f s, exit %s, %d differences%s" % (
            name, results[0][1], results[1][1], results[0][0], len(diffs), "".join("\n    " + d for d in diffs[:20])))
        if results[0][0] != results[1][0]:
            diffs.append("exit codes %s and %s" % (results[0][0], results[1][0]))
        cmd.duration = (results[0][1] + results[1][1]) / 2
        cmd.ref_code = results[0][0]
        refs[name] = results[0][2]
    if any(control[n]["differences"] for n in names):
        report = {"control": control, "verdict": "control failed: two uninterrupted runs differ"}
        if args.out:
            write_result(args.out, report)
        sys.exit("crash_safety: the control failed (two uninterrupted runs differ, above): not comparing kills")

    # Kills: the trials shared out, `run` (the longest, every stage) getting the most.
    weights = {"run": 4, "train": 2, "measure": 2, "search": 2}
    total_w = sum(weights[n] for n in names)
    quota = {n: max(1, round(args.trials * weights[n] / total_w)) for n in names}
    while sum(quota.values()) < args.trials:
        quota[names[0]] += 1
    chains = []
    for name in names:
        cmd = commands[name]
        kills_done, chain_no = 0, 0
        while kills_done < quota[name]:
            chain_no += 1
            clear(W)
            if name == "measure":
                os.makedirs(W)
            logp = "%s/logs/%s-chain-%d.log" % (base, name, chain_no)
            for leftover in os.listdir(systmp):
                clear(os.path.join(systmp, leftover))
            chain = {"command": name, "chain": chain_no, "kills": [], "attempts": 0, "half_written": [], "temp_files_after_kills": []}
            argv = cmd.first
            want = min(args.kills_per_chain, quota[name] - kills_done)
            code = None
            while True:
                chain["attempts"] += 1
                if len(chain["kills"]) < want:
                    at = rng.uniform(0, cmd.duration)
                    code, secs = run_until(argv, env, logp, at)
                    if code is None:
                        chain["kills"].append(round(at, 3))
                        bad, temps = integrity(checker, W)
                        chain["half_written"] += ["after kill %d at %.2f s: %s" % (len(chain["kills"]), at, b) for b in bad]
                        chain["temp_files_after_kills"] += temps
                        argv = cmd.resume
                        continue
                else:
                    code, secs = run_to_end(argv, env, logp)
                break
            kills_done += len(chain["kills"])
            chain["exit"] = code
            chain["resumed_ok"] = code == cmd.ref_code
            diffs, history, temps = compare_trees(refs[name], W)
            chain["history_differences"] = history
            bad, _ = integrity(checker, W)
            chain["half_written"] += ["at the end: " + b for b in bad]
            chain["differences"] = data_hash_problems(W)
            chain["differences"] += diffs
            chain["temp_files_at_end"] = temps
            chain["equal"] = not chain["differences"]
            chain["temp_files_after_kills"] = sorted(set(chain["temp_files_after_kills"]))
            chain["scratch_left_in_tmpdir"] = sorted(os.listdir(systmp))
            for leftover in chain["scratch_left_in_tmpdir"]:
                clear(os.path.join(systmp, leftover))
            chains.append(chain)
            log("%s chain %d: kills at %s s, %d attempts, exit %s, %s%s%s%s" % (
                name, chain_no, chain["kills"], chain["attempts"], code, "equal" if chain["equal"] else "DIFFERS",
                "".join("\n    " + d for d in chain["differences"][:10]),
                "".join("\n    temporary file left: " + t for t in temps + chain["scratch_left_in_tmpdir"]),
                "".join("\n    half-written " + b for b in chain["half_written"][:10])))
            if not chain["equal"] or chain["half_written"] or not chain["resumed_ok"]:
                keep = "%s/failed-%s-%d" % (base, name, chain_no)
                clear(keep)
                os.rename(W, keep)

    summary = []
    for name in names:
        cs = [c for c in chains if c["command"] == name]
        summary.append({
            "command": name, "argv": " ".join(commands[name].first).replace(base, "$WORK").replace(thanos, "thanos"),
            "uninterrupted_seconds": round(commands[name].duration, 1), "chains": len(cs),
            "kills": sum(len(c["kills"]) for c in cs), "resumed_ok": sum(c["resumed_ok"] for c in cs),
            "equal_to_reference": sum(c["equal"] for c in cs),
            "half_written_files": sum(len(c["half_written"]) for c in cs),
            "chains_with_temp_files_left": sum(bool(c["temp_files_at_end"]) for c in cs),
            "chains_with_scratch_left_in_tmpdir": sum(bool(c["scratch_left_in_tmpdir"]) for c in cs),
            "chains_with_history_differences": sum(bool(c["history_differences"]) for c in cs),
            "chains_leaving_temporary_files": sum(bool(c["temp_files_at_end"] or c["scratch_left_in_tmpdir"]) for c in cs)})
    ok = all(s["resumed_ok"] == s["chains"] == s["equal_to_reference"] and s["half_written_files"] == 0 for s in summary)
    report = {
        "command": " ".join(["scripts/crash_safety.py"] + sys.argv[1:]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": commit, "thanos": args.thanos, "seed": args.seed, "trials": args.trials,
        "kills_per_chain": args.kills_per_chain, "cores": os.cpu_count(),
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
        "harness_seconds": round(time.monotonic() - wall0, 1),
        "verdict": "pass" if ok else "fail", "summary": summary, "control": control, "chains": chains}
    for s in summary:
        log("%-8s %2d chains, %2d kills, resumed %2d, equal %2d, half-written %d, temp files left in %d" % (
            s["command"], s["chains"], s["kills"], s["resumed_ok"], s["equal_to_reference"], s["half_written_files"],
            s["chains_with_temp_files_left"]))
    report["table"] = markdown_table(summary)
    print(report["table"])
    if args.out:
        write_result(args.out, report)
        log("wrote " + args.out)
    if args.doc:
        write_doc_table(args.doc, report, args.out, args.doc_block)
        log("rewrote the table in " + args.doc)
    if not args.keep and ok:
        clear(base)
    sys.exit(0 if ok else 1)


def markdown_table(summary):
    """docs/RELIABILITY.md's table."""
    rows = ["| command | uninterrupted run | chains | SIGKILLs | resumed to the same exit | outputs equal to the reference | half-written files after a kill | chains leaving temporary files |",
            "|---|---|---|---|---|---|---|---|"]
    for s in summary:
        rows.append("| `thanos %s` | %.1f s | %d | %d | %d | %d | %d | %d |" % (
            s["command"], s["uninterrupted_seconds"], s["chains"], s["kills"], s["resumed_ok"], s["equal_to_reference"],
            s["half_written_files"], s["chains_leaving_temporary_files"]))
    return "\n".join(rows)


def write_doc_table(path, report, result_path, block="crash-safety"):
    text = open(path).read()
    begin, end = "<!-- %s:begin -->" % block, "<!-- %s:end -->" % block
    if begin not in text or end not in text:
        sys.exit("crash_safety: %s has no %s ... %s markers" % (path, begin, end))
    la, lb = report["load_before"], report["load_after"]
    block = "\n".join([
        begin,
        "Measured %s at commit %s (%d cores; load average %.2f before, %.2f after; the harness took %d min %02d s)%s:" % (
            report["date"][:10], report["commit"] or "?", report["cores"], la[0], lb[0], report["harness_seconds"] // 60,
            report["harness_seconds"] % 60, ", rows in [%s](%s)" % (os.path.basename(result_path), os.path.relpath(
                result_path, os.path.dirname(os.path.abspath(path)))) if result_path else ""),
        "",
        report["table"],
        end])
    text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    tmp = path + ".tmp"
    open(tmp, "w").write(text)
    os.replace(tmp, path)


def git_commit():
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        return subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, check=True).stdout.decode().strip()
    except Exception:
        return ""


def write_result(path, report):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
