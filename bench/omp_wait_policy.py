#!/usr/bin/env python3
"""Whether a passive OpenMP wait policy helps measurement workers (docs/MEASUREMENT.md, "Load").

GNU OpenMP's threads spin while they wait for work. On an idle machine that costs nothing; when
other processes hold the cores, a spinning thread takes the time slice its sibling needs and a
2-thread measurement can read 10-100x slow. This measures one SubTransformer with `thanos measure
--config` (an isolated worker per reading) under OMP_WAIT_POLICY unset (libgomp's default), PASSIVE
and ACTIVE, on the idle machine and with as many spinning processes as cores beside it, the
policies interleaved round by round so that a slow spell hits them alike.

    python3 bench/omp_wait_policy.py [--thanos build/thanos] [--rounds 7] [--threads N]
                                      [--out bench/results/omp_wait_policy.json]

Writes the readings and the table to --out (JSON) and prints the table: per condition and policy,
the median latency with its 90% interval (the sign-test interval, as budget claims use) and the
ratio to the default policy's median. Check the machine is otherwise idle first (uptime).
"""
import argparse
import json
import math
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POLICIES = ["default", "PASSIVE", "ACTIVE"]


def median_interval(values, confidence=0.90):
    """[x(j), x(n+1-j)] with the largest j of coverage >= confidence (src/common/stats.cc)."""
    v = sorted(values)
    n = len(v)
    best, below = 0, 0.0
    for j in range(1, (n + 1) // 2 + 1):
        below += math.comb(n, j - 1) / 2 ** n
        if 1 - 2 * below < confidence:
            break
        best = j
    if best == 0:
        return [float("-inf"), float("inf")]
    return [v[best - 1], v[n - best]]


def spin():
    while True:
        pass


def measure(thanos, space, config, threads, policy):
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    cmd = [thanos, "--threads", str(threads), "measure", "--space", space, "--config", config, "--protocol", "quick",
           "--json", "--allow-busy"]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    m = json.loads(out)
    return m["encoder_mean_ms"] + m["decoder_mean_ms"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--thanos", default=os.path.join(ROOT, "build", "thanos"))
    ap.add_argument("--space", default=os.path.join(ROOT, "configs", "spaces", "demo-small.yml"))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "omp_wait_policy.json"))
    a = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    with open("/proc/loadavg") as f:
        load_start = f.read().split()[0]
    tmp = tempfile.mkdtemp()
    config = os.path.join(tmp, "largest.yml")
    subprocess.run([a.thanos, "sample", "--space", a.space, "--kind", "largest", "--out", config], check=True, capture_output=True)
    readings = {}
    for condition in ["idle", "busy"]:
        spinners = []
        if condition == "busy":
            spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(cores)]
            for p in spinners:
                p.start()
            time.sleep(0.5)
        try:
            for r in range(a.rounds):
                for policy in POLICIES:
                    ms = measure(a.thanos, a.space, config, a.threads, policy)
                    readings.setdefault(condition, {}).setdefault(policy, []).append(ms)
                    print(f"{condition} round {r + 1}/{a.rounds} {policy}: {ms:.2f} ms", file=sys.stderr)
        finally:
            for p in spinners:
                p.terminate()
                p.join()
    rows = []
    for condition, by_policy in readings.items():
        base = statistics.median(by_policy["default"])
        for policy in POLICIES:
            v = by_policy[policy]
            med = statistics.median(v)
            rows.append({"condition": condition, "policy": policy, "median_ms": med, "interval_ms": median_interval(v),
                         "ratio_to_default": med / base, "readings_ms": v})
    with open("/proc/loadavg") as f:
        load_end = f.read().split()[0]
    result = {"command": "python3 bench/omp_wait_policy.py " + " ".join(sys.argv[1:]), "threads": a.threads, "cores": cores,
              "space": os.path.relpath(a.space, ROOT), "config": "the space's largest member", "protocol": "quick",
              "rounds": a.rounds, "load_start_end": [load_start, load_end],
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows}
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(a.out + ".tmp", a.out)
    print(f"| condition | OMP_WAIT_POLICY | latency ms (median) | 90% interval | vs default |")
    print("|---|---|---|---|---|")
    for row in rows:
        lo, hi = row["interval_ms"]
        print(f"| {row['condition']} ({a.threads} threads, {cores} cores) | {row['policy']} | {row['median_ms']:.2f} | "
              f"[{lo:.2f}, {hi:.2f}] | {row['ratio_to_default']:.2f}x |")


if __name__ == "__main__":
    main()
