#!/usr/bin/python3
"""Side-by-side self time per operator of two chrome traces of libtorch's legacy profiler.

    profile_compare.py THANOS_TRACE.json PYTORCH_TRACE.json [--top 30]

Both traces come from `thanos_bench_train --profile DIR` (one training step per side, same batch).
Self time = an event's duration minus that of the events nested in it on the same thread; the
table lists operators by the larger self time of the two sides, in ms, and their call counts.
"""

import argparse
import collections
import json


def self_times(path):
    with open(path) as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    by_tid = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            by_tid[e.get("tid")].append(e)
    total = collections.Counter()
    calls = collections.Counter()
    wall = 0.0
    for evs in by_tid.values():
        evs.sort(key=lambda e: (float(e["ts"]), -float(e["dur"])))
        stack = []  # [end, name, child_time, duration]
        for e in evs:
            ts, dur = float(e["ts"]), float(e["dur"])
            while stack and stack[-1][0] <= ts:
                end, name, child, d = stack.pop()
                total[name] += d - child
            if stack:
                stack[-1][2] += dur
            else:
                wall += dur
            stack.append([ts + dur, e["name"], 0.0, dur])
            calls[e["name"]] += 1
        while stack:
            end, name, child, d = stack.pop()
            total[name] += d - child
    return {k: v / 1000.0 for k, v in total.items()}, calls, wall / 1000.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("thanos")
    ap.add_argument("pytorch")
    ap.add_argument("--top", type=int, default=30)
    a = ap.parse_args()
    t, tc, tw = self_times(a.thanos)
    p, pc, pw = self_times(a.pytorch)
    names = sorted(set(t) | set(p), key=lambda n: -max(t.get(n, 0), p.get(n, 0)))
    print("%-44s | %10s %6s | %10s %6s | %9s" % ("operator (self time)", "thanos ms", "calls", "pytorch ms", "calls", "diff ms"))
    print("-" * 100)
    for n in names[:a.top]:
        print("%-44s | %10.1f %6d | %10.1f %6d | %+9.1f" % (n[:44], t.get(n, 0), tc.get(n, 0), p.get(n, 0), pc.get(n, 0),
                                                          t.get(n, 0) - p.get(n, 0)))
    print("-" * 100)
    print("%-44s | %10.1f %6d | %10.1f %6d | %+9.1f" % ("all profiled events", sum(t.values()), sum(tc.values()),
                                                      sum(p.values()), sum(pc.values()), sum(t.values()) - sum(p.values())))
    print("%-44s | %10.1f        | %10.1f        |" % ("top-level span (per thread, summed)", tw, pw))


if __name__ == "__main__":
    main()
