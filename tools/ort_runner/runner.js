#!/usr/bin/env node
// THANOS' ONNX Runtime runner (docs/ORT.md). A long-lived process that loads ONNX graphs into
// ONNX Runtime (the npm package onnxruntime-node, pinned in package.json) and serves requests
// read from stdin, one at a time, answering each on stdout. The C++ side is
// include/thanos/export/runtime_runner.h. Nothing here downloads anything.
//
// Framing (both directions): a message is
//     u32 big-endian H | H bytes of UTF-8 JSON (the header) | P bytes of payload
// where P is the sum of header.tensors[i].nbytes (0 when there are no tensors). Each tensor
// descriptor is {"name", "dtype", "shape": [..], "nbytes", optional "role"}; the tensors' raw
// bytes (little-endian, row-major, no padding) follow the header in the order of the list.
// dtype: float32 | float16 (IEEE half as raw 16-bit words) | int64 | int32 | bool (1 byte each).
//
// On start the runner sends, unrequested, {"id":null,"ok":true,"op":"hello","onnxruntime":V,
// "node":V,"platform":P}; it exits with status 3 and a message on stderr when onnxruntime-node
// cannot be loaded.
// Every request carries "op" and an optional "id" that the response echoes. Responses carry
// "ok": true, or "ok": false with "error": a one-line message (the runner stays up).
//   {"op":"load","path":P,"intra_op_threads":N,"inter_op_threads":N?,"options":{...}?}
//       -> {"session":S,"inputs":[{"name","dtype","shape"}],"outputs":[...]}
//       shape entries: a number, or a string naming a dynamic dimension ("" when unnamed).
//       options (all optional): graph_optimization_level disabled|basic|extended|all (default all),
//       execution_mode sequential|parallel, enable_cpu_mem_arena, enable_mem_pattern (booleans),
//       log_severity_level 0..4 (default 3: errors only).
//   {"op":"run","session":S,"tensors":[inputs],"outputs":[names]?} -> tensors = the outputs
//       (all of the graph's outputs in its order unless "outputs" names some).
//   {"op":"time","session":S,"tensors":[inputs],"warmups":W,"repeats":R,"trim_fraction":F}
//       -> {"timings_ms":[R numbers],"mean_ms","std_ms","kept"}
//   {"op":"time_loop", ...} -> encoder once, then a decoder-step loop; see timeLoop() below.
//   {"op":"close","session":S} -> {}
//   {"op":"quit"} -> {} and the runner exits (it also exits when stdin ends).
//
// Timing: process.hrtime.bigint() around each awaited session.run(), so the figures include
// onnxruntime-node's own per-call overhead (a setImmediate hop, feeds validation, output
// wrapping: some microseconds) but no pipe traffic. Trimming mirrors thanos::trimmed_stats
// (src/hw/latency_protocol.cc): sort, drop floor(n*f) from the bottom and max(1, floor(n*f))
// from the top, keep everything when that would drop all.
'use strict';

let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  process.stderr.write(
    'ort_runner: cannot load onnxruntime-node (' + String(e && e.message).split('\n')[0] + '); ' +
    'run scripts/setup.sh or `npm ci --ignore-scripts --prefix tools/ort_runner`\n');
  process.exit(3);
}

const MAX_HEADER_BYTES = 64 << 20;

const DTYPES = {
  float32: {size: 4, make: (n) => new Float32Array(n)},
  float16: {size: 2, make: (n) => new Uint16Array(n)},
  int64: {size: 8, make: (n) => new BigInt64Array(n)},
  int32: {size: 4, make: (n) => new Int32Array(n)},
  bool: {size: 1, make: (n) => new Uint8Array(n)},
};

const sessions = new Map();  // id -> {session, path, inputs, outputs}
let nextSession = 1;

class RequestError extends Error {}

function fail(message) {
  throw new RequestError(message);
}

function elementCount(shape) {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkShape(where, shape) {
  if (!Array.isArray(shape)) fail(where + ': "shape" must be an array');
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) fail(where + ': bad dimension ' + JSON.stringify(d) + ' in shape ' + JSON.stringify(shape));
  }
}

// An ort.Tensor from a descriptor and its bytes (copied into a fresh, aligned buffer).
function makeTensor(desc, bytes) {
  const where = 'tensor "' + desc.name + '"';
  const t = DTYPES[desc.dtype];
  if (!t) fail(where + ': unsupported dtype "' + desc.dtype + '" (expected float32, float16, int64, int32 or bool)');
  checkShape(where, desc.shape);
  const n = elementCount(desc.shape);
  if (n * t.size !== bytes.length) {
    fail(where + ': shape ' + JSON.stringify(desc.shape) + ' of ' + desc.dtype + ' needs ' + n * t.size +
         ' bytes, got ' + bytes.length);
  }
  const data = t.make(n);
  new Uint8Array(data.buffer).set(bytes);
  return new ort.Tensor(desc.dtype, data, desc.shape);
}

function tensorBytes(tensor) {
  const d = tensor.data;
  if (!ArrayBuffer.isView(d)) fail('output of type ' + tensor.type + ' is not a numeric tensor');
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

function outputDescriptor(name, tensor) {
  const type = tensor.type;
  if (!DTYPES[type]) fail('output "' + name + '" has dtype ' + type + ', which the runner does not return');
  const bytes = tensorBytes(tensor);
  return {desc: {name, dtype: type, shape: Array.from(tensor.dims), nbytes: bytes.length}, bytes};
}

function getSession(id) {
  const s = sessions.get(id);
  if (!s) fail('no session ' + JSON.stringify(id) + ' (never loaded, or closed)');
  return s;
}

// Feeds for `s` from descriptors, checking names, dtypes and fixed dimensions against the graph.
function checkFeeds(s, feeds, where) {
  for (const [name, tensor] of Object.entries(feeds)) {
    const meta = s.inputs.find((m) => m.name === name);
    if (!meta) {
      fail(where + ': the graph has no input "' + name + '" (its inputs: ' + s.inputs.map((m) => m.name).join(', ') + ')');
    }
    if (meta.dtype && meta.dtype !== tensor.type) {
      fail(where + ': input "' + name + '" is ' + meta.dtype + ', got ' + tensor.type);
    }
    if (Array.isArray(meta.shape)) {
      const dims = tensor.dims;
      let ok = dims.length === meta.shape.length;
      for (let i = 0; ok && i < dims.length; ++i) {
        if (typeof meta.shape[i] === 'number' && meta.shape[i] !== dims[i]) ok = false;
      }
      if (!ok) {
        fail(where + ': input "' + name + '" has shape ' + JSON.stringify(Array.from(dims)) +
             ', the graph expects ' + JSON.stringify(meta.shape.map((d) => (typeof d === 'number' ? d : d || '?'))));
      }
    }
  }
  for (const m of s.inputs) {
    if (!(m.name in feeds)) fail(where + ': input "' + m.name + '" is missing');
  }
}

function tensorsByRole(tensors, role) {
  const out = {};
  for (const {desc, tensor} of tensors) {
    if ((desc.role || '') === role) out[desc.name] = tensor;
  }
  return out;
}

function trimmedStats(timings, trimFraction) {
  const t = [...timings].sort((a, b) => a - b);
  const n = t.length;
  if (n === 0) return {mean_ms: 0, std_ms: 0, kept: 0};
  let low = Math.floor(n * trimFraction);
  let high = Math.max(1, Math.floor(n * trimFraction));
  if (low + high >= n) {
    low = 0;
    high = 0;
  }
  const kept = t.slice(low, n - high);
  const mean = kept.reduce((a, b) => a + b, 0) / kept.length;
  const sq = kept.reduce((a, b) => a + (b - mean) * (b - mean), 0);
  return {mean_ms: mean, std_ms: Math.sqrt(sq / kept.length), kept: kept.length};
}

function protocolSettings(req) {
  const warmups = req.warmups === undefined ? 5 : req.warmups;
  const repeats = req.repeats === undefined ? 20 : req.repeats;
  const trim = req.trim_fraction === undefined ? 0.1 : req.trim_fraction;
  if (!Number.isInteger(warmups) || warmups < 0) fail('"warmups" must be an integer >= 0');
  if (!Number.isInteger(repeats) || repeats < 1) fail('"repeats" must be an integer >= 1');
  if (typeof trim !== 'number' || !(trim >= 0 && trim < 0.5)) fail('"trim_fraction" must be a number in [0, 0.5)');
  return {warmups, repeats, trim};
}

const msSince = (start) => Number(process.hrtime.bigint() - start) / 1e6;

// ------------------------------------------------------------------------------------ requests

async function load(req) {
  if (typeof req.path !== 'string' || req.path === '') fail('load: "path" (the .onnx file) is required');
  const fs = require('fs');
  if (!fs.existsSync(req.path)) fail('load: no such model file: ' + req.path);
  const intra = req.intra_op_threads === undefined ? 1 : req.intra_op_threads;
  if (!Number.isInteger(intra) || intra < 0) fail('load: "intra_op_threads" must be an integer >= 0 (0: ORT default)');
  const o = req.options || {};
  const options = {
    executionProviders: ['cpu'],
    intraOpNumThreads: intra,
    graphOptimizationLevel: o.graph_optimization_level || 'all',
    logSeverityLevel: o.log_severity_level === undefined ? 3 : o.log_severity_level,
  };
  if (req.inter_op_threads !== undefined) options.interOpNumThreads = req.inter_op_threads;
  if (o.execution_mode !== undefined) options.executionMode = o.execution_mode;
  if (o.enable_cpu_mem_arena !== undefined) options.enableCpuMemArena = !!o.enable_cpu_mem_arena;
  if (o.enable_mem_pattern !== undefined) options.enableMemPattern = !!o.enable_mem_pattern;
  let session;
  try {
    session = await ort.InferenceSession.create(req.path, options);
  } catch (e) {
    fail('load: ONNX Runtime cannot load ' + req.path + ': ' + oneLine(e));
  }
  const meta = (list, names) => names.map((name, i) => {
    const m = (list && list[i]) || {name};
    return {name, dtype: m.isTensor === false ? 'non-tensor' : m.type,
            shape: Array.isArray(m.shape) ? m.shape.map((d) => (typeof d === 'number' ? d : String(d || ''))) : null};
  });
  const id = nextSession++;
  const entry = {session, path: req.path, inputs: meta(session.inputMetadata, session.inputNames),
                 outputs: meta(session.outputMetadata, session.outputNames)};
  sessions.set(id, entry);
  return {header: {session: id, inputs: entry.inputs, outputs: entry.outputs}};
}

async function run(req, tensors) {
  const s = getSession(req.session);
  const feeds = tensorsByRole(tensors, '');
  checkFeeds(s, feeds, 'run');
  let fetches;
  if (req.outputs !== undefined) {
    if (!Array.isArray(req.outputs)) fail('run: "outputs" must be a list of names');
    for (const n of req.outputs) {
      if (!s.session.outputNames.includes(n)) {
        fail('run: the graph has no output "' + n + '" (its outputs: ' + s.session.outputNames.join(', ') + ')');
      }
    }
    fetches = req.outputs;
  }
  let results;
  try {
    // Always every output: onnxruntime-node 1.22 returns a fetched subset under the wrong names
    // (run(feeds, ['Y32']) answers {Y16: ...}), so the subset is picked here.
    results = await s.session.run(feeds);
  } catch (e) {
    fail('run: ONNX Runtime failed: ' + oneLine(e));
  }
  const names = fetches || s.session.outputNames;
  const out = names.map((n) => outputDescriptor(n, results[n]));
  return {header: {}, tensors: out};
}

async function time(req, tensors) {
  const s = getSession(req.session);
  const {warmups, repeats, trim} = protocolSettings(req);
  const feeds = tensorsByRole(tensors, '');
  checkFeeds(s, feeds, 'time');
  const timings = [];
  try {
    for (let i = 0; i < warmups + repeats; ++i) {
      const start = process.hrtime.bigint();
      await s.session.run(feeds);
      const ms = msSince(start);
      if (i >= warmups) timings.push(ms);
    }
  } catch (e) {
    fail('time: ONNX Runtime failed: ' + oneLine(e));
  }
  return {header: Object.assign({timings_ms: timings}, trimmedStats(timings, trim))};
}

// Tiles a tensor `times` times along axis 0 (the encoder's batch-1 outputs copied per beam row,
// as fairseq does before decoding; done once, untimed, as in measure_in_process).
function replicateAxis0(tensor, times) {
  if (times === 1) return tensor;
  const src = tensor.data;
  const out = new src.constructor(src.length * times);
  for (let i = 0; i < times; ++i) out.set(src, i * src.length);
  const dims = Array.from(tensor.dims);
  if (dims.length === 0) fail('time_loop: cannot replicate a scalar encoder output');
  dims[0] *= times;
  return new ort.Tensor(tensor.type, out, dims);
}

// Slice t of a tensor along axis 0 (its first dimension dropped).
function sliceAxis0(tensor, t) {
  const dims = Array.from(tensor.dims);
  const n = tensor.data.length / dims[0];
  return new ort.Tensor(tensor.type, tensor.data.slice(t * n, (t + 1) * n), dims.slice(1));
}

// {"op":"time_loop",
//  "encoder": {"session": E},                 inputs: the tensors with role "encoder"
//  "decoder": {"session": D,                  initial inputs: the tensors with role "decoder"
//              "steps": T,                    decoder-step runs per timed run
//              "from_encoder": {ENC_OUT: DEC_IN, ...},   encoder outputs fed to every step
//              "replicate": B,                tile those encoder outputs B times along axis 0 (default 1)
//              "feedback": {DEC_OUT: DEC_IN, ...}},      e.g. present.0.key -> past.0.key: fed to the next step
//  tensors with role "step": per-step inputs whose first axis has length T; step t gets slice t
//  (e.g. the dummy target tokens, or a position counter),
//  "warmups": W, "repeats": R, "trim_fraction": F, "return_last": false}
// -> {"encoder_ms":[R], "decoder_ms":[R], "encoder": {mean_ms,std_ms,kept}, "decoder": {...}}
//    and, with return_last, the tensors of the last step of the last run (all decoder outputs).
// HAT's protocol as measure_in_process runs it: the encoder W+R times (each run timed); then,
// from its last outputs, W+R decoder runs, each timed as a whole: the decoder inputs reset to
// the initial ones, then T steps, each step's feedback outputs becoming the next step's inputs.
// Outputs not named in feedback (the logits) are computed and dropped, as in a beam search's
// scoring step; beam-search bookkeeping is not timed (as in HAT).
async function timeLoop(req, tensors) {
  const {warmups, repeats, trim} = protocolSettings(req);
  const encReq = req.encoder || fail('time_loop: "encoder" is required');
  const decReq = req.decoder || fail('time_loop: "decoder" is required');
  const enc = getSession(encReq.session);
  const dec = getSession(decReq.session);
  const steps = decReq.steps;
  if (!Number.isInteger(steps) || steps < 1) fail('time_loop: "decoder.steps" must be an integer >= 1');
  const replicate = decReq.replicate === undefined ? 1 : decReq.replicate;
  if (!Number.isInteger(replicate) || replicate < 1) fail('time_loop: "decoder.replicate" must be an integer >= 1');
  const fromEncoder = decReq.from_encoder || {};
  const feedback = decReq.feedback || {};
  for (const [o, i] of Object.entries(fromEncoder)) {
    if (!enc.session.outputNames.includes(o)) fail('time_loop: from_encoder: the encoder has no output "' + o + '"');
    if (!dec.session.inputNames.includes(i)) fail('time_loop: from_encoder: the decoder has no input "' + i + '"');
  }
  for (const [o, i] of Object.entries(feedback)) {
    if (!dec.session.outputNames.includes(o)) fail('time_loop: feedback: the decoder has no output "' + o + '"');
    if (!dec.session.inputNames.includes(i)) fail('time_loop: feedback: the decoder has no input "' + i + '"');
  }
  const encFeeds = tensorsByRole(tensors, 'encoder');
  checkFeeds(enc, encFeeds, 'time_loop: encoder');
  const initial = tensorsByRole(tensors, 'decoder');
  const perStep = tensorsByRole(tensors, 'step');
  for (const [name, t] of Object.entries(perStep)) {
    if (t.dims.length === 0 || t.dims[0] !== steps) {
      fail('time_loop: step input "' + name + '" must have ' + steps + ' (decoder.steps) as its first dimension, got shape ' +
           JSON.stringify(Array.from(t.dims)));
    }
  }
  const stepSlices = [];
  for (let t = 0; t < steps; ++t) {
    const m = {};
    for (const [name, tensor] of Object.entries(perStep)) m[name] = sliceAxis0(tensor, t);
    stepSlices.push(m);
  }

  const encoderMs = [];
  const decoderMs = [];
  let stage = 'encoder';
  let last = null;
  try {
    let encOut;
    for (let i = 0; i < warmups + repeats; ++i) {
      const start = process.hrtime.bigint();
      encOut = await enc.session.run(encFeeds);
      const ms = msSince(start);
      if (i >= warmups) encoderMs.push(ms);
    }
    const fixed = {};
    for (const [o, i] of Object.entries(fromEncoder)) fixed[i] = replicateAxis0(encOut[o], replicate);
    // The first step's feeds, checked once (names, dtypes, fixed dimensions) before timing.
    stage = 'decoder step 0';
    checkFeeds(dec, Object.assign({}, initial, fixed, stepSlices[0]), 'time_loop: decoder step 0');
    for (let i = 0; i < warmups + repeats; ++i) {
      const start = process.hrtime.bigint();
      let carried = initial;
      for (let t = 0; t < steps; ++t) {
        stage = 'decoder step ' + t;
        const out = await dec.session.run(Object.assign({}, carried, fixed, stepSlices[t]));
        last = out;
        const next = Object.assign({}, carried);
        for (const [o, inName] of Object.entries(feedback)) next[inName] = out[o];
        carried = next;
      }
      const ms = msSince(start);
      if (i >= warmups) decoderMs.push(ms);
    }
  } catch (e) {
    if (e instanceof RequestError) throw e;
    fail('time_loop: ONNX Runtime failed at the ' + stage + ': ' + oneLine(e));
  }
  return {
    header: {
      encoder_ms: encoderMs,
      decoder_ms: decoderMs,
      encoder: trimmedStats(encoderMs, trim),
      decoder: trimmedStats(decoderMs, trim),
    },
    // The last step's outputs of the last run, on request (to check the loop's wiring).
    tensors: req.return_last ? dec.session.outputNames.map((n) => outputDescriptor(n, last[n])) : [],
  };
}

async function close(req) {
  const s = getSession(req.session);
  sessions.delete(req.session);
  try {
    await s.session.release();
  } catch (e) {
    fail('close: ' + oneLine(e));
  }
  return {header: {}};
}

// ------------------------------------------------------------------------------------ framing

function oneLine(e) {
  const text = e && e.message ? e.message : String(e);
  return text.replace(/\s+/g, ' ').trim();
}

function writeMessage(header, tensors) {
  const list = tensors || [];
  header.tensors = list.map((t) => t.desc);
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length, 0);
  // One write per message, in order (stream writes never interleave).
  process.stdout.write(Buffer.concat([len, json, ...list.map((t) => t.bytes)]));
}

let stopped = false;  // after quit or a broken stream: no further request is served

// Ends the runner after a framing error: the stream can no longer be trusted.
function fatal(message) {
  writeMessage({id: null, ok: false, error: 'protocol: ' + message + '; the runner stops'});
  stopped = true;
  process.stdin.pause();
  exitAfterFlush(2);
}

// Exits once everything written so far has reached the client (stdout may be asynchronous on a
// socket): write callbacks run in order.
function exitAfterFlush(code) {
  process.stdout.write('', () => process.exit(code));
  setTimeout(() => process.exit(code), 2000).unref();
}

async function handle(header, payload) {
  if (stopped) return;
  const id = header.id === undefined ? null : header.id;
  try {
    const descs = header.tensors || [];
    if (!Array.isArray(descs)) fail('"tensors" must be a list');
    const tensors = [];
    let offset = 0;
    for (const desc of descs) {
      const bytes = payload.subarray(offset, offset + desc.nbytes);
      offset += desc.nbytes;
      tensors.push({desc, tensor: makeTensor(desc, bytes)});
    }
    let result;
    switch (header.op) {
      case 'load': result = await load(header); break;
      case 'run': result = await run(header, tensors); break;
      case 'time': result = await time(header, tensors); break;
      case 'time_loop': result = await timeLoop(header, tensors); break;
      case 'close': result = await close(header); break;
      case 'quit':
        writeMessage({id, ok: true});
        stopped = true;
        exitAfterFlush(0);
        return;
      default: fail('unknown op ' + JSON.stringify(header.op) + ' (expected load, run, time, time_loop, close or quit)');
    }
    writeMessage(Object.assign({id, ok: true}, result.header), result.tensors);
  } catch (e) {
    const message = e instanceof RequestError ? e.message : 'internal error: ' + oneLine(e);
    writeMessage({id, ok: false, error: message});
  }
}

function main() {
  // The first message, unrequested: the runner is up and ONNX Runtime loaded.
  writeMessage({id: null, ok: true, op: 'hello', onnxruntime: ort.env.versions ? ort.env.versions.node : 'unknown',
                node: process.versions.node, platform: process.platform + '-' + process.arch});
  let buffered = Buffer.alloc(0);
  let queue = Promise.resolve();
  let ended = false;
  let pending = 0;
  let needed = 4;  // bytes of `buffered` the next drain() step waits for

  const drain = () => {
    while (!stopped) {
      needed = 4;
      if (buffered.length < 4) return;
      const hlen = buffered.readUInt32BE(0);
      if (hlen > MAX_HEADER_BYTES) {
        fatal('header of ' + hlen + ' bytes (corrupt stream?)');
        return;
      }
      needed = 4 + hlen;
      if (buffered.length < needed) return;
      let header;
      try {
        header = JSON.parse(buffered.subarray(4, 4 + hlen).toString('utf8'));
        if (header === null || typeof header !== 'object') throw new Error('not a JSON object');
      } catch (e) {
        fatal('bad JSON header (' + oneLine(e) + ')');
        return;
      }
      let plen = 0;
      for (const d of Array.isArray(header.tensors) ? header.tensors : []) {
        if (!Number.isInteger(d.nbytes) || d.nbytes < 0) {
          fatal('tensor without a valid "nbytes"');
          return;
        }
        plen += d.nbytes;
      }
      needed = 4 + hlen + plen;
      if (buffered.length < needed) return;
      const payload = Buffer.from(buffered.subarray(4 + hlen, 4 + hlen + plen));
      buffered = buffered.subarray(4 + hlen + plen);
      ++pending;
      queue = queue.then(() => handle(header, payload)).then(() => {
        --pending;
        if (ended && pending === 0 && !stopped) exitAfterFlush(0);
      });
    }
  };

  // Chunks are joined only once a whole message (or at least its next 4-byte or header step)
  // is there, so a large payload is not copied once per 64 KiB chunk.
  let chunks = [];
  let chunkBytes = 0;
  process.stdin.on('data', (chunk) => {
    chunks.push(chunk);
    chunkBytes += chunk.length;
    if (buffered.length + chunkBytes < needed) return;
    buffered = Buffer.concat([buffered, ...chunks]);
    chunks = [];
    chunkBytes = 0;
    drain();
  });
  process.stdin.on('end', () => {
    ended = true;
    if (pending === 0 && !stopped) exitAfterFlush(0);
  });
  process.stdout.on('error', () => process.exit(0));  // the client went away
}

main();
