// Fills the holes of a photo with a model written by `pconv export --onnx`, in ONNX Runtime for
// Node (npm install onnxruntime-node pngjs jpeg-js):
//
//   node fill.mjs MODEL.onnx PHOTO MASK OUT.png --multiple 64 [--mean R,G,B --std R,G,B]
//
// PHOTO: PNG or JPEG; MASK: PNG, non-zero = hole, as pconv's own. --multiple, --mean and --std
// are the model's input conventions, which `pconv export` prints (onnxruntime-node does not
// expose ONNX metadata); mean and std default to ImageNet's, which pconv's own models use.
import fs from 'node:fs';
import jpeg from 'jpeg-js';
import * as ort from 'onnxruntime-node';
import { PNG } from 'pngjs';

function readImage(file) {
  const bytes = fs.readFileSync(file);
  const { width, height, data } = bytes[0] === 0xff && bytes[1] === 0xd8 ? jpeg.decode(bytes) : PNG.sync.read(bytes);
  return { width, height, data };  // RGBA, 8 bits
}

const [model, photoFile, maskFile, out, ...rest] = process.argv.slice(2);
const options = { multiple: 0, mean: '0.485,0.456,0.406', std: '0.229,0.224,0.225' };
for (let i = 0; i + 1 < rest.length; i += 2) options[rest[i].replace(/^--/, '')] = rest[i + 1];
const multiple = Number(options.multiple), mean = options.mean.split(',').map(Number), std = options.std.split(',').map(Number);
if (!out || !(multiple > 0)) {
  console.error('usage: node fill.mjs MODEL.onnx PHOTO MASK OUT.png --multiple N [--mean R,G,B --std R,G,B]');
  process.exit(2);
}

const photo = readImage(photoFile), hole = readImage(maskFile);
const { width: w, height: h } = photo;
if (hole.width !== w || hole.height !== h) throw new Error(`${maskFile}: not the size of ${photoFile}`);

// NCHW inputs, padded right and bottom to the multiple; the padding is hole (mask 0).
const rows = Math.ceil(h / multiple) * multiple, cols = Math.ceil(w / multiple) * multiple, plane = rows * cols;
const image = new Float32Array(3 * plane), mask = new Float32Array(plane);
for (let y = 0; y < h; ++y)
  for (let x = 0; x < w; ++x) {
    const p = 4 * (y * w + x), q = y * cols + x;
    for (let c = 0; c < 3; ++c) image[c * plane + q] = (photo.data[p + c] / 255 - mean[c]) / std[c];
    mask[q] = hole.data[p] === 0 ? 1 : 0;
  }

const session = await ort.InferenceSession.create(model);
const { prediction } = await session.run({
  image: new ort.Tensor('float32', image, [1, 3, rows, cols]),
  mask: new ort.Tensor('float32', mask, [1, 1, rows, cols]),
});

// The photo where it is valid, the prediction (back to [0,255], rounded and clamped) in holes.
const png = new PNG({ width: w, height: h });
png.data.set(photo.data);
for (let y = 0; y < h; ++y)
  for (let x = 0; x < w; ++x) {
    const p = 4 * (y * w + x), q = y * cols + x;
    if (hole.data[p] === 0) continue;
    for (let c = 0; c < 3; ++c)
      png.data[p + c] = Math.min(255, Math.max(0, Math.round((prediction.data[c * plane + q] * std[c] + mean[c]) * 255)));
    png.data[p + 3] = 255;
  }
fs.writeFileSync(out, PNG.sync.write(png));
