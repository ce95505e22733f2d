#!/usr/bin/env python3
"""THANOS' RKNN runner (docs/DEPLOY.md): the ONNX Runtime runner's protocol (tools/ort_runner/runner.js,
docs/ORT.md) served by Rockchip's Python runtimes, so the C++ client (RuntimeRunner with
RuntimeRunnerOptions::command) drives an NPU exactly as it drives ONNX Runtime: load, run, time,
time_loop (HAT's protocol timed inside this process), close, quit.

Runtimes (--runtime):
  lite     on the board: rknn-toolkit-lite2 (`rknnlite.api.RKNNLite`) runs converted .rknn files on
           the RK3588 NPU (--core-mask 0, 1, 2, 0_1, 0_1_2 or auto).
  toolkit  on the conversion host: rknn-toolkit2 (`rknn.api.RKNN`) converts a static ONNX graph at
           load time (fp16, or int8 with the calibration list of tools/rknn/convert.py) and runs it in
           the toolkit's simulator, or on a board attached over adb with --target rk3588.
Neither runtime is installed here: this runner exits with status 3 and says what to install when
its runtime is missing, and nothing in THANOS pretends to run an NPU without it.

RKNN runs inputs by position: the names of each graph's inputs and outputs, in order, come from the
thanos_export.json sidecar in the graph's directory (the spec whose file stem equals the model's).
Framing (both directions): u32 big-endian H | H bytes of UTF-8 JSON | payload (the tensors' raw
bytes, in the order of header.tensors). The runner starts by sending, unrequested,
{"id":null,"ok":true,"op":"hello","runtime":..,"interpreter":..,"platform":..}.
"""
import argparse
import json
import os
import platform
import struct
import sys
import time

try:
    import numpy as np
except ImportError as e:  # Rockchip's runtimes need numpy too; say so rather than a traceback
    sys.stderr.write("rknn runner: numpy is missing (%s); install it next to Rockchip's Python package\n" % e)
    sys.exit(3)

DTYPES = {"float32": np.float32, "float16": np.float16, "int64": np.int64, "int32": np.int32, "bool": np.bool_}
NAMES = {np.dtype(v): k for k, v in DTYPES.items()}


class RequestError(Exception):
    pass


def fail(message):
    raise RequestError(message)


def read_exact(stream, n):
    data = bytearray()
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def write_message(header, tensors=()):
    descs, payload = [], []
    for name, array in tensors:
        array = np.ascontiguousarray(array)
        if array.dtype not in NAMES:
            fail('output "%s" has dtype %s, which the runner does not return' % (name, array.dtype))
        raw = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        descs.append({"name": name, "dtype": NAMES[array.dtype], "shape": list(array.shape), "nbytes": len(raw)})
        payload.append(raw)
    header = dict(header, tensors=descs)
    text = json.dumps(header).encode("utf-8")
    out = sys.stdout.buffer
    out.write(struct.pack(">I", len(text)) + text + b"".join(payload))
    out.flush()


def sidecar_spec(model_path):
    """The sidecar's spec (inputs and outputs in order) of the graph `model_path` was made from."""
    directory = os.path.dirname(os.path.abspath(model_path))
    sidecar = os.path.join(directory, "thanos_export.json")
    if not os.path.exists(sidecar):
        fail("%s: no thanos_export.json beside it (convert with tools/rknn/convert.py, which copies it)" % model_path)
    with open(sidecar, encoding="utf-8") as f:
        doc = json.load(f)
    stem = os.path.splitext(os.path.basename(model_path))[0]
    for key in ("encoder", "decoder"):
        spec = doc[key]
        if os.path.splitext(spec["file"])[0] == stem:
            if doc.get("mode") != "static":
                fail("%s: RKNN needs a static export (thanos export --static SRC_LEN,TGT_LEN)" % sidecar)
            return spec
    fail("%s: no graph named %s in %s" % (model_path, stem, sidecar))


class Session:
    def __init__(self, runtime, path, request):
        self.spec = sidecar_spec(path)
        self.inputs = [i["name"] for i in self.spec["inputs"]]
        self.outputs = [o["name"] for o in self.spec["outputs"]]
        self.rknn = runtime.open(path, request)

    def run(self, feeds):
        missing = [n for n in self.inputs if n not in feeds]
        if missing:
            fail("input %s is missing (the graph's inputs: %s)" % (missing[0], ", ".join(self.inputs)))
        arrays = [feeds[n] for n in self.inputs]
        # 4-D tensors are attention caches, not images: keep their layout as given.
        outs = self.rknn.inference(inputs=arrays, data_format=["nchw"] * len(arrays))
        if outs is None or len(outs) != len(self.outputs):
            fail("the runtime returned %s outputs, the graph has %d" % (None if outs is None else len(outs), len(self.outputs)))
        return dict(zip(self.outputs, outs))


class LiteRuntime:
    def __init__(self, core_mask):
        from rknnlite.api import RKNNLite  # noqa: raises ImportError when absent
        self.cls = RKNNLite
        masks = {"auto": "NPU_CORE_AUTO", "0": "NPU_CORE_0", "1": "NPU_CORE_1", "2": "NPU_CORE_2",
                 "0_1": "NPU_CORE_0_1", "0_1_2": "NPU_CORE_0_1_2"}
        self.core_mask = getattr(RKNNLite, masks[core_mask])
        try:
            from importlib.metadata import version
            self.version = "rknn-toolkit-lite2 " + version("rknn-toolkit-lite2")
        except Exception:
            self.version = "rknn-toolkit-lite2"

    def open(self, path, request):
        if not path.endswith(".rknn"):
            fail("%s: the lite runtime loads converted .rknn files (tools/rknn/convert.py)" % path)
        r = self.cls(verbose=False)
        if r.load_rknn(path) != 0:
            fail("%s: load_rknn failed" % path)
        if r.init_runtime(core_mask=self.core_mask) != 0:
            fail("%s: init_runtime failed (is the NPU driver loaded? see docs/DEPLOY.md)" % path)
        return r


class ToolkitRuntime:
    def __init__(self, target):
        from rknn.api import RKNN  # noqa: raises ImportError when absent
        self.cls = RKNN
        self.target = target
        try:
            from importlib.metadata import version
            self.version = "rknn-toolkit2 " + version("rknn-toolkit2")
        except Exception:
            self.version = "rknn-toolkit2"

    def open(self, path, request):
        if not path.endswith(".onnx"):
            fail("%s: the toolkit runtime converts a static .onnx graph at load time" % path)
        options = request.get("options") or {}
        dtype = options.get("rknn_dtype", "fp16")
        r = self.cls(verbose=False)
        r.config(target_platform="rk3588", quantized_dtype="w8a8" if dtype == "int8" else None,
                 optimization_level=int(options.get("optimization_level", 3)))
        if r.load_onnx(model=path) != 0:
            fail("%s: load_onnx failed" % path)
        calibration = None
        if dtype == "int8":
            directory = options.get("calibration_dir")
            stem = os.path.splitext(os.path.basename(path))[0]
            calibration = os.path.join(directory, stem + ".txt") if directory else None
            if not calibration or not os.path.exists(calibration):
                fail("%s: int8 needs the calibration list %s (thanos export --calibration-data)" % (path, calibration))
        if r.build(do_quantization=dtype == "int8", dataset=calibration) != 0:
            fail("%s: build failed" % path)
        if r.init_runtime(target=self.target) != 0:
            fail("%s: init_runtime(target=%s) failed" % (path, self.target))
        return r


def tensors_of(header, payload):
    out, offset = [], 0
    for d in header.get("tensors") or []:
        dtype = DTYPES.get(d.get("dtype"))
        if dtype is None:
            fail('tensor "%s": unsupported dtype %r' % (d.get("name"), d.get("dtype")))
        raw = payload[offset:offset + d["nbytes"]]
        offset += d["nbytes"]
        array = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(d["shape"])
        out.append((d.get("role", ""), d["name"], array))
    return out


def trimmed_stats(timings, trim):
    t = sorted(timings)
    n = len(t)
    if n == 0:
        return {"mean_ms": 0, "std_ms": 0, "kept": 0}
    low, high = int(n * trim), max(1, int(n * trim))
    if low + high >= n:
        low, high = 0, 0
    kept = t[low:n - high]
    mean = sum(kept) / len(kept)
    return {"mean_ms": mean, "std_ms": (sum((x - mean) ** 2 for x in kept) / len(kept)) ** 0.5, "kept": len(kept)}


def settings(req):
    warmups, repeats, trim = req.get("warmups", 5), req.get("repeats", 20), req.get("trim_fraction", 0.1)
    if not isinstance(warmups, int) or warmups < 0 or not isinstance(repeats, int) or repeats < 1 or not 0 <= trim < 0.5:
        fail('"warmups" >= 0, "repeats" >= 1 and "trim_fraction" in [0, 0.5) expected')
    return warmups, repeats, trim


def timed(fn):
    start = time.perf_counter_ns()
    result = fn()
    return result, (time.perf_counter_ns() - start) / 1e6


class Server:
    def __init__(self, runtime):
        self.runtime = runtime
        self.sessions = {}
        self.next_id = 1

    def session(self, sid):
        if sid not in self.sessions:
            fail("no session %r (never loaded, or closed)" % sid)
        return self.sessions[sid]

    def load(self, req, tensors):
        s = Session(self.runtime, req.get("path", ""), req)
        sid, self.next_id = self.next_id, self.next_id + 1
        self.sessions[sid] = s
        io = lambda spec: [{"name": t["name"], "dtype": t["dtype"], "shape": [int(d) for d in t["dims"]]} for t in spec]
        return {"session": sid, "inputs": io(s.spec["inputs"]), "outputs": io(s.spec["outputs"])}, []

    def run(self, req, tensors):
        s = self.session(req.get("session"))
        outs = s.run({name: a for role, name, a in tensors})
        wanted = req.get("outputs") or s.outputs
        return {}, [(n, outs[n]) for n in wanted]

    def time(self, req, tensors):
        s = self.session(req.get("session"))
        warmups, repeats, trim = settings(req)
        feeds = {name: a for role, name, a in tensors}
        timings = []
        for i in range(warmups + repeats):
            _, ms = timed(lambda: s.run(feeds))
            if i >= warmups:
                timings.append(ms)
        return dict(trimmed_stats(timings, trim), timings_ms=timings), []

    def time_loop(self, req, tensors):
        """runner.js's time_loop for batch-1 graphs: `replicate` rows are decoded one graph call each
        per step (docs/EXPORT.md: beam search on the NPU runs the step graph once per live beam), each
        row with its own fed-back caches; the encoder outputs are shared by every row."""
        warmups, repeats, trim = settings(req)
        enc, dec = self.session(req["encoder"]["session"]), self.session(req["decoder"]["session"])
        d = req["decoder"]
        steps, rows = d.get("steps", 0), d.get("replicate", 1)
        if not isinstance(steps, int) or steps < 1 or not isinstance(rows, int) or rows < 1:
            fail('time_loop: "decoder.steps" and "decoder.replicate" must be integers >= 1')
        by_role = lambda role: {name: a for r, name, a in tensors if r == role}
        enc_feeds, initial, per_step = by_role("encoder"), by_role("decoder"), by_role("step")
        for name, a in per_step.items():
            if a.shape[0] != steps:
                fail('time_loop: step input "%s" must have %d (decoder.steps) as its first dimension' % (name, steps))
        enc_ms, dec_ms = [], []
        enc_out = None
        for i in range(warmups + repeats):
            enc_out, ms = timed(lambda: enc.run(enc_feeds))
            if i >= warmups:
                enc_ms.append(ms)
        fixed = {i: enc_out[o] for o, i in (d.get("from_encoder") or {}).items()}
        feedback = d.get("feedback") or {}
        # Initial per-row state: row r's slice of each initial input (batch-1 graphs).
        row_initial = [{n: a[r:r + 1] if a.shape and a.shape[0] == rows else a for n, a in initial.items()} for r in range(rows)]

        def decode():
            carried = [dict(x) for x in row_initial]
            for t in range(steps):
                for r in range(rows):
                    feeds = dict(carried[r], **fixed)
                    for name, a in per_step.items():
                        step_value = a[t]
                        feeds[name] = step_value[r:r + 1] if step_value.ndim and step_value.shape[0] == rows else step_value
                    out = dec.run(feeds)
                    for o, i in feedback.items():
                        carried[r][i] = out[o]
        for i in range(warmups + repeats):
            _, ms = timed(decode)
            if i >= warmups:
                dec_ms.append(ms)
        return {"encoder_ms": enc_ms, "decoder_ms": dec_ms, "encoder": trimmed_stats(enc_ms, trim),
                "decoder": trimmed_stats(dec_ms, trim)}, []

    def close(self, req, tensors):
        sid = req.get("session")
        s = self.session(sid)
        del self.sessions[sid]
        s.rknn.release()
        return {}, []


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runtime", choices=["lite", "toolkit"], required=True)
    parser.add_argument("--core-mask", default="auto", choices=["auto", "0", "1", "2", "0_1", "0_1_2"])
    parser.add_argument("--target", default=None, help="toolkit: None = simulator, rk3588 = a board over adb")
    args = parser.parse_args()
    try:
        runtime = LiteRuntime(args.core_mask) if args.runtime == "lite" else ToolkitRuntime(args.target)
    except ImportError as e:
        package = "rknn-toolkit-lite2 (on the board)" if args.runtime == "lite" else "rknn-toolkit2 (on the conversion host)"
        sys.stderr.write("rknn runner: cannot import %s's Python API (%s); install %s from Rockchip's release "
                         "(docs/DEPLOY.md)\n" % (args.runtime, e, package))
        sys.exit(3)
    write_message({"id": None, "ok": True, "op": "hello", "runtime": runtime.version,
                   "interpreter": "python " + platform.python_version(), "platform": sys.platform + "-" + platform.machine()})
    server = Server(runtime)
    ops = {"load": server.load, "run": server.run, "time": server.time, "time_loop": server.time_loop, "close": server.close}
    stdin = sys.stdin.buffer
    while True:
        prefix = read_exact(stdin, 4)
        if prefix is None:
            return
        (length,) = struct.unpack(">I", prefix)
        header = json.loads(read_exact(stdin, length).decode("utf-8"))
        payload = read_exact(stdin, sum(int(d.get("nbytes", 0)) for d in header.get("tensors") or [])) or b""
        rid = header.get("id")
        if header.get("op") == "quit":
            write_message({"id": rid, "ok": True})
            return
        try:
            op = ops.get(header.get("op"))
            if op is None:
                fail("unknown op %r (expected load, run, time, time_loop, close or quit)" % header.get("op"))
            result, tensors = op(header, tensors_of(header, payload))
            write_message(dict({"id": rid, "ok": True}, **result), tensors)
        except RequestError as e:
            write_message({"id": rid, "ok": False, "error": str(e)})
        except Exception as e:  # the runtime's own failures: reported, the runner stays up
            write_message({"id": rid, "ok": False, "error": "%s: %s" % (type(e).__name__, " ".join(str(e).split()))})


if __name__ == "__main__":
    main()
