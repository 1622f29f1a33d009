// The ONNX Runtime side of bench/onnx.sh: node onnx_bench.mjs DIR REPS THREADS
// Times REPS runs of DIR/paper.onnx after a warm-up and prints one JSON line, with the largest
// difference from pconv's own output.
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

const [dir, reps, threads] = process.argv.slice(2);
const read = (name, shape) => {
  const b = fs.readFileSync(path.join(dir, name));
  return new ort.Tensor('float32', new Float32Array(b.buffer, b.byteOffset, b.length / 4), shape);
};
const feeds = { image: read('image.f32', [1, 3, 512, 512]), mask: read('mask.f32', [1, 1, 512, 512]) };
const expected = read('expected.f32', [1, 3, 512, 512]).data;
const session = await ort.InferenceSession.create(path.join(dir, 'paper.onnx'), {
  intraOpNumThreads: Number(threads), interOpNumThreads: 1, graphOptimizationLevel: 'all',
});
const first = (await session.run(feeds)).prediction.data;  // warm-up
let diff = 0;
for (let i = 0; i < first.length; ++i) diff = Math.max(diff, Math.abs(first[i] - expected[i]));
const ms = [];
for (let i = 0; i < Number(reps); ++i) {
  const start = process.hrtime.bigint();
  await session.run(feeds);
  ms.push(Number(process.hrtime.bigint() - start) / 1e6);
}
ms.sort((a, b) => a - b);
console.log(JSON.stringify({ median_ms: ms[Math.floor(ms.length / 2)], peak_rss_mb: process.resourceUsage().maxRSS / 1024,
                             max_diff: diff, ort: ort.env.versions.node }));
