// Runs every exported model of make_onnx_cases in ONNX Runtime (onnxruntime-node, CPU) and
// compares its output with pconv's own: node runtime.test.mjs CASES_DIR
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

const dir = process.argv[2];
const tolerance = 1e-4;
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));

function read(entry) {
  const bytes = fs.readFileSync(path.join(dir, entry.file));
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return new ort.Tensor('float32', data, entry.shape);
}

const sessions = new Map();
let failures = 0;
for (const c of manifest) {
  if (!sessions.has(c.model))
    sessions.set(c.model, await ort.InferenceSession.create(path.join(dir, c.model), { intraOpNumThreads: 2 }));
  const out = await sessions.get(c.model).run({ image: read(c.image), mask: read(c.mask) });
  const got = out.prediction, expected = read(c.expected);
  let diff = 0;
  if (JSON.stringify(got.dims) !== JSON.stringify(expected.dims)) diff = Infinity;
  else for (let i = 0; i < got.data.length; ++i) diff = Math.max(diff, Math.abs(got.data[i] - expected.data[i]));
  const ok = diff <= tolerance;
  if (!ok) failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${c.model} ${c.case} ${got.dims.join('x')}: max |ORT - pconv| = ${diff.toExponential(2)}`);
}
console.log(`${manifest.length - failures}/${manifest.length} cases within ${tolerance} (onnxruntime-node ${ort.env.versions.node})`);
process.exit(failures ? 1 : 0);
