#!/usr/bin/env python3
"""Convert a static THANOS export to RKNN for the RK3588 NPU with Rockchip's rknn-toolkit2
(docs/DEPLOY.md). Run it where the toolkit is installed (an x86-64 or arm64 Linux host).

    thanos export --checkpoint sub.pt --out export --static 64,64 --calibration-data data/prepared
    python3 tools/rknn/convert.py export --dtype fp16 --out export/rknn-fp16
    python3 tools/rknn/convert.py export --dtype int8 --out export/rknn-int8 --accuracy-analysis
    python3 tools/rknn/convert.py export --bleu data/prepared --thanos build/thanos   # fp32 vs fp16 vs int8

For each graph of the export (encoder.onnx, decoder_step.onnx): RKNN.config(target_platform='rk3588',
w8a8 quantization for int8), load_onnx, build (int8: the calibration list calibration/<graph>.txt
that `thanos export --calibration-data` wrote: real encoder inputs from corpus sentences and
decoder-step inputs recorded while the float model translated them), export_rknn. The .rknn files
are written atomically beside a copy of thanos_export.json (RKNN runs inputs by position; the
sidecar gives their names and order) with an "rknn" entry saying how they were made.

--accuracy-analysis runs the toolkit's per-layer comparison of the quantized model with the float one
(simulator, or the board with --target) on the first calibration sample, into OUT/accuracy/<graph>/.
--bleu DATA translates DATA's test split (or --split) with `thanos eval --export`: float32 in ONNX
Runtime, fp16 and int8 in the toolkit's simulator (same conversion settings, --target for a board),
and prints BLEU and its change against float32 (also written to OUT/bleu_report.json).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile


def die(message, code=2):
    sys.stderr.write("convert.py: %s\n" % message)
    sys.exit(code)


def load_sidecar(export_dir):
    path = os.path.join(export_dir, "thanos_export.json")
    if not os.path.exists(path):
        die("%s: not a thanos export directory (no thanos_export.json; make one with `thanos export --static ...`)" % export_dir)
    with open(path, encoding="utf-8") as f:
        sidecar = json.load(f)
    if sidecar.get("mode") != "static":
        die("%s: a dynamic export; the RK3588 toolkit needs static shapes (thanos export --static SRC_LEN,TGT_LEN)" % path)
    if sidecar.get("dtype") != "float32":
        die("%s: a %s export; convert the float32 export (the toolkit makes fp16/int8 itself)" % (path, sidecar.get("dtype")))
    return path, sidecar


def write_json_atomically(path, value):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def convert_graph(RKNN, onnx_path, out_path, dtype, calibration, target, accuracy_dir):
    rknn = RKNN(verbose=False)
    try:
        rknn.config(target_platform="rk3588", quantized_dtype="w8a8" if dtype == "int8" else None, optimization_level=3)
        if rknn.load_onnx(model=onnx_path) != 0:
            die("%s: load_onnx failed (run `thanos rknn-check %s` for what the toolkit does not support)" % (onnx_path, onnx_path), 1)
        if rknn.build(do_quantization=dtype == "int8", dataset=calibration) != 0:
            die("%s: build failed" % onnx_path, 1)
        tmp = out_path + ".partial"
        if rknn.export_rknn(tmp) != 0:
            die("%s: export_rknn failed" % onnx_path, 1)
        os.replace(tmp, out_path)
        if accuracy_dir:
            with open(calibration or "", encoding="utf-8") as f:
                first = f.readline().split()
            if rknn.init_runtime(target=target) != 0:
                die("init_runtime(target=%s) failed for the accuracy analysis" % target, 1)
            rknn.accuracy_analysis(inputs=first, output_dir=accuracy_dir, target=target)
    finally:
        rknn.release()


def bleu_report(args, export_dir, out_dir):
    rows = []
    for label, extra in (("float32 (ONNX Runtime)", ["--runtime", "ort"]),
                         ("fp16 (rknn-toolkit2 %s)" % (args.target or "simulator"), ["--runtime", "rknn-sim", "--rknn-dtype", "fp16"]),
                         ("int8 (rknn-toolkit2 %s)" % (args.target or "simulator"), ["--runtime", "rknn-sim", "--rknn-dtype", "int8"])):
        command = [args.thanos, "eval", "--export", export_dir, "--data", args.bleu, "--split", args.split, "--json",
                   "--python", sys.executable] + extra
        print("convert.py: " + " ".join(command), flush=True)
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
        if done.returncode != 0:
            die("%s failed (exit %d)" % (" ".join(command), done.returncode), 1)
        result = json.loads(done.stdout[done.stdout.index("{"):])
        rows.append({"model": label, "bleu": result["bleu"]["score"], "chrf": result["chrf"]["score"]})
    base = rows[0]["bleu"]
    print("\n| model | BLEU | change vs float32 | chrF |\n|---|---|---|---|")
    for r in rows:
        r["bleu_change"] = r["bleu"] - base
        print("| %s | %.2f | %+.2f | %.2f |" % (r["model"], r["bleu"], r["bleu_change"], r["chrf"]))
    write_json_atomically(os.path.join(out_dir, "bleu_report.json"), {"split": args.split, "data": args.bleu, "rows": rows})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("export", help="a static float32 `thanos export` directory")
    parser.add_argument("--out", help="where the .rknn files go (default: EXPORT/rknn-DTYPE)")
    parser.add_argument("--dtype", choices=["fp16", "int8"], default="fp16")
    parser.add_argument("--target", default=None, help="rk3588 to run accuracy checks on a board over adb (default: simulator)")
    parser.add_argument("--accuracy-analysis", action="store_true")
    parser.add_argument("--bleu", metavar="DATA", help="prepared data: BLEU of fp32/fp16/int8 on --split")
    parser.add_argument("--split", default="test")
    parser.add_argument("--thanos", default="thanos", help="the thanos executable (for --bleu)")
    args = parser.parse_args()

    export_dir = os.path.abspath(args.export)
    sidecar_path, sidecar = load_sidecar(export_dir)
    out_dir = os.path.abspath(args.out or os.path.join(export_dir, "rknn-" + args.dtype))
    if args.bleu:
        os.makedirs(out_dir, exist_ok=True)
        bleu_report(args, export_dir, out_dir)
        return
    try:
        from rknn.api import RKNN
    except ImportError as e:
        die("rknn-toolkit2 is not importable by %s (%s); install Rockchip's wheel for this Python (docs/DEPLOY.md)"
            % (sys.executable, e), 3)
    try:
        from importlib.metadata import version
        toolkit = version("rknn-toolkit2")
    except Exception:
        toolkit = "unknown"
    os.makedirs(out_dir, exist_ok=True)
    made = {}
    for key in ("encoder", "decoder"):
        onnx_file = sidecar[key]["file"]
        stem = os.path.splitext(onnx_file)[0]
        calibration = None
        if args.dtype == "int8":
            calibration = os.path.join(export_dir, "calibration", stem + ".txt")
            if not os.path.exists(calibration):
                die("%s: missing; int8 needs calibration data (thanos export --static ... --calibration-data DATA)" % calibration)
        out_path = os.path.join(out_dir, stem + ".rknn")
        accuracy = os.path.join(out_dir, "accuracy", stem) if args.accuracy_analysis else None
        print("convert.py: %s -> %s (%s)" % (onnx_file, out_path, args.dtype), flush=True)
        convert_graph(RKNN, os.path.join(export_dir, onnx_file), out_path, args.dtype, calibration, args.target, accuracy)
        made[key] = os.path.basename(out_path)
    # The sidecar last: a directory with a sidecar holds the models it describes.
    sidecar["rknn"] = {"dtype": args.dtype, "target_platform": "rk3588", "toolkit": toolkit, "models": made,
                       "quantized_dtype": "w8a8" if args.dtype == "int8" else None, "source": sidecar_path}
    write_json_atomically(os.path.join(out_dir, "thanos_export.json"), sidecar)
    if os.path.isdir(os.path.join(export_dir, "calibration")) and args.dtype == "int8":
        shutil.copy2(os.path.join(export_dir, "calibration", "encoder.txt"), os.path.join(out_dir, "calibration_encoder.txt"))
    print("convert.py: wrote %s (copy it to the board; `thanos eval --export DIR --runtime rknn` there)" % out_dir)


if __name__ == "__main__":
    main()
