#!/usr/bin/env python3
"""Compares two `thanos run` summaries (summary.json) for a refactoring: the same keys in the same
order, and the same values apart from what is measured or timed (latency, memory, speed, drift,
seconds) and the run directory's own path. Prints each difference; exits 1 when the shapes differ
or a value that does not depend on measurement differs, else 0.

  python3 scripts/compare_run_summaries.py OLD_WORKDIR NEW_WORKDIR

Which models fit is decided by measurement (the baseline is the slowest homogeneous member that
fits when measured; the search's finalists are those that fit when measured), so two runs can pick
another model for the same role: a model whose config differs is listed as picked by measurement,
with its figures, and not counted as a failure.
"""
import json
import sys

# Keys whose values are measured or timed.
MEASURED = ("latency", "memory_mb", "memory_mib", "seconds", "sentences_per_second", "reference_", "slowdown", "fits_measured")


def flatten(value, path=""):
    """(path, leaf) pairs in document order; objects keep their key order."""
    if isinstance(value, dict):
        yield path + "{}", list(value.keys())
        for k, v in value.items():
            yield from flatten(v, path + "/" + k)
    elif isinstance(value, list):
        yield path + "[]", len(value)
        for i, v in enumerate(value):
            yield from flatten(v, "%s[%d]" % (path, i))
    else:
        yield path, value


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    old_dir, new_dir = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/")
    with open(old_dir + "/summary.json") as f:
        old = dict(flatten(json.load(f)))
    with open(new_dir + "/summary.json") as f:
        new = dict(flatten(json.load(f)))
    shape = [p for p in old if (p.endswith("{}") or p.endswith("[]")) and old[p] != new.get(p)]
    shape += [p for p in new if p not in old]
    # Models (objects with a config_hash) that are another model in the new run.
    other_model = [p[: -len("/config_hash")] + "/" for p, v in old.items()
                   if p.endswith("/config_hash") and new.get(p) not in (None, v)]
    # The selection's list of candidates names the baseline too (its valid scores follow it).
    if any(m.endswith("/baseline/") for m in other_model):
        other_model += [p[: -len("/name")] + "/" for p, v in old.items()
                        if p.endswith("/name") and v == "baseline" and "/finalists[" in p]
    measured, other, picked = [], [], []
    for p, v in old.items():
        if p in shape or p.endswith("{}") or p.endswith("[]"):
            continue
        w = new.get(p)
        if isinstance(v, str) and isinstance(w, str):
            v, w = v.replace(old_dir, "WORKDIR"), w.replace(new_dir, "WORKDIR")
        if v == w:
            continue
        if any(p.startswith(m) for m in other_model):
            picked.append((p, v, w))
        else:
            (measured if any(m in p for m in MEASURED) else other).append((p, v, w))
    for p in shape:
        print("shape differs: %s: %s -> %s" % (p, old.get(p), new.get(p)))
    for p, v, w in other:
        print("value differs: %s: %r -> %r" % (p, v, w))
    for m in other_model:
        if m + "config_hash" in old:
            print("another model picked by measurement: %s (%s -> %s)" % (m.rstrip("/"), old[m + "config"], new[m + "config"]))
    print("%d shape differences, %d values differ beyond measurement, %d measured or timed values differ, "
          "%d values of %d models picked by measurement differ, %d values compared"
          % (len(shape), len(other), len(measured), len(picked), len(other_model),
             sum(1 for p in old if not p.endswith(("{}", "[]")))))
    sys.exit(1 if shape or other else 0)


if __name__ == "__main__":
    main()
