// The pconv web page: open an image, paint the hole, fill it through /api/v1/inpaint, and keep
// going: each fill becomes the image painted on next, with undo across fills and strokes. The mask
// canvas has the image's full resolution and is only scaled for display, so the server gets
// images and masks of exactly the photo's size.
import { History } from './history.js';
import { View, attachGestures } from './viewport.js';

const $ = (id) => document.getElementById(id);
const els = Object.fromEntries([
  'model', 'status', 'spinner', 'status-text', 'viewport', 'layer', 'image', 'previous', 'mask', 'split',
  'before-label', 'after-label', 'rect-preview', 'cursor', 'open-input', 'mask-input', 'mask-convention',
  'jpeg-quality', 'quality', 'style-choice', 'style', 'grow', 'fill', 'compare-toggle', 'download', 'download-format', 'download-mask',
  'size', 'size-value', 'undo', 'redo', 'clear', 'original', 'zoom-out', 'zoom-value', 'zoom-in', 'zoom-fit',
  'zoom-one',
].map((id) => [id.replace(/-(.)/g, (m, c) => c.toUpperCase()), $(id)]));
const ctx = els.mask.getContext('2d');
const HOLE = 'rgb(255, 0, 0)';

const state = {
  history: null,   // History, once an image is open
  name: 'image',   // the opened file's name without its extension
  type: 'png',     // the opened file's format: png, jpeg or webp
  stroke: null,    // the stroke being drawn
  rect: null,      // {from: [x, y], to: [x, y]} while a rectangle is dragged, image coordinates
  request: null,   // {abort: AbortController, timer} while filling
  comparing: false,
  split: 0.5,      // the before/after divider, as a share of the viewport's width
  splitting: false,
};

const view = new View(els.viewport, els.layer, () => {
  els.zoomValue.textContent = `${Math.round(view.scale * 100)}%`;
  placeSplit();
});

function setStatus(text, { error = false, busy = false } = {}) {
  els.statusText.textContent = text;
  els.status.title = text;
  els.status.classList.toggle('error', error);
  els.spinner.hidden = !busy;
}

const tool = () => document.querySelector('input[name=tool]:checked').value;
function setTool(name) {
  document.querySelector(`input[name=tool][value=${name}]`).checked = true;
  setComparing(false);
  els.viewport.classList.toggle('rect', name === 'rect');
}

// --- the server ----------------------------------------------------------------------------

// A server started with --token prints its address as http://host:port/#token=…; the fragment
// never leaves the browser, and the token goes with every API request.
const token = new URLSearchParams(location.hash.slice(1)).get('token');
const api = (path, init = {}) =>
  fetch(path, token ? { ...init, headers: { Authorization: `Bearer ${token}` } } : init);

async function describeModel() {
  for (;;) {
    try {
      const health = await api('/api/v1/health');
      if (health.ok) break;
      els.model.textContent = 'Loading the model…';
    } catch (e) {
      els.model.textContent = 'The server does not answer.';
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const info = await (await api('/api/v1/model')).json();
  const a = info.architecture;
  els.model.textContent = `${info.file}: ${a.type === 'pconv-unet' ? 'PConv U-Net' : 'U-Net'}, ` +
    `depth ${a.depth}, width ${a.width}, on ${info.device}`;
  // Bundled smooth and textured models: the server's default style first.
  const styles = info.styles || [];
  for (const name of styles) els.style.add(new Option(name[0].toUpperCase() + name.slice(1), name));
  els.style.value = info.style;
  els.styleChoice.hidden = styles.length < 2;
  // The server's own setting is the page's default; one that is neither preset stays selectable.
  if (info.quality === 'fast' || info.quality === 'best') {
    els.quality.value = info.quality;
  } else {
    els.quality.add(new Option("Server's setting", ''), 0);
    els.quality.value = '';
  }
}

async function fill() {
  const h = state.history;
  if (!h || state.request || !h.hasHole()) return;
  setComparing(false);
  const abort = new AbortController();
  const started = performance.now();
  const elapsed = () => ((performance.now() - started) / 1000).toFixed(1);
  state.request = {
    abort,
    timer: setInterval(() => setStatus(`Filling… ${elapsed()} s (Esc cancels)`, { busy: true }), 100),
  };
  setStatus('Filling… 0.0 s (Esc cancels)', { busy: true });
  updateControls();
  const before = h.image();
  try {
    const form = new FormData();
    form.append('image', before.blob, `${state.name}.${before.blob.type === 'image/png' ? 'png' : state.type}`);
    form.append('mask', await maskBlob(false), 'mask.png');
    form.append('format', 'png');  // lossless, so that fill after fill loses nothing
    form.append('dilate', String(growPixels()));
    if (els.quality.value) form.append('quality', els.quality.value);
    if (!els.styleChoice.hidden) form.append('style', els.style.value);
    const response = await api('/api/v1/inpaint', { method: 'POST', body: form, signal: abort.signal });
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
      const retry = response.headers.get('Retry-After');
      throw new Error(retry ? `${message} (retry in ${retry} s)` : message);
    }
    const image = await loadImage(await response.blob());
    if (state.history !== h) return;  // another image was opened meanwhile
    h.push({ kind: 'image', label: 'fill', image, previous: before, owned: true });
    showImage();
    setComparing(true);
    setStatus(`Filled in ${elapsed()} s. Drag on the image to compare; paint again to remove more, ` +
      'or undo (Ctrl+Z).');
  } catch (e) {
    if (state.history !== h) return;  // another image was opened: its status stays
    if (e.name === 'AbortError') setStatus('Cancelled; nothing changed.');
    else setStatus(`Fill failed: ${e.message}`, { error: true });
  } finally {
    clearInterval(state.request.timer);
    state.request = null;
    updateControls();
  }
}

function cancelFill() {
  if (state.request) state.request.abort.abort();
}

function growPixels() {
  const n = Math.round(Number(els.grow.value));
  return Number.isFinite(n) ? Math.max(0, Math.min(1000, n)) : 0;
}

// The mask as an opaque image: white = hole on black, or the other way round (`asFile`: in the
// convention chosen for mask files, so that a saved mask loads back as it was).
function maskBlob(asFile) {
  const out = document.createElement('canvas');
  out.width = els.mask.width;
  out.height = els.mask.height;
  const c = out.getContext('2d');
  const holeWhite = !asFile || els.maskConvention.value === 'white';
  c.fillStyle = holeWhite ? 'black' : 'white';
  c.fillRect(0, 0, out.width, out.height);
  const shape = document.createElement('canvas');
  shape.width = out.width;
  shape.height = out.height;
  const s = shape.getContext('2d');
  s.drawImage(els.mask, 0, 0);
  s.globalCompositeOperation = 'source-in';
  s.fillStyle = holeWhite ? 'white' : 'black';
  s.fillRect(0, 0, out.width, out.height);
  c.drawImage(shape, 0, 0);
  return new Promise((resolve) => out.toBlob(resolve, 'image/png'));
}

// --- images ----------------------------------------------------------------------------------

async function loadImage(blob) {
  const url = URL.createObjectURL(blob);
  const img = new Image();
  try {
    await new Promise((resolve, reject) => {
      img.onload = resolve;
      img.onerror = () => reject(new Error('the browser cannot decode it'));
      img.src = url;
    });
  } catch (e) {
    URL.revokeObjectURL(url);
    throw e;
  }
  return { blob, url, width: img.naturalWidth, height: img.naturalHeight };
}

function formatOf(type) {
  if (type === 'image/jpeg') return 'jpeg';
  if (type === 'image/webp') return 'webp';
  return 'png';
}

async function openImage(file) {
  if (!file || !file.type.startsWith('image/')) {
    setStatus(`${file ? file.name : 'That'} is not an image.`, { error: true });
    return;
  }
  let original;
  try {
    original = await loadImage(file);
  } catch (e) {
    setStatus(`Cannot open ${file.name}: ${e.message}`, { error: true });
    return;
  }
  cancelFill();
  if (state.history) state.history.dispose();
  state.history = new History(original);
  state.name = (file.name || 'image').replace(/\.[^.]*$/, '');
  state.type = formatOf(file.type);
  els.downloadFormat.options[0].text = `as input (${state.type.toUpperCase()})`;
  els.mask.width = original.width;
  els.mask.height = original.height;
  view.setImageSize(original.width, original.height);
  els.layer.hidden = false;
  setComparing(false);
  showImage();
  view.fit(false);
  setStatus(`${file.name || 'Pasted image'}: ${original.width}×${original.height}. ` +
    'Paint over what should go, then press Fill.');
}

// A mask file becomes one undoable step: its hole pixels, scaled to the image if need be.
async function openMask(file) {
  if (!state.history) { setStatus('Open an image first, then its mask.', { error: true }); return; }
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch (e) {
    setStatus(`Cannot open ${file.name} as a mask.`, { error: true });
    return;
  }
  const canvas = document.createElement('canvas');
  canvas.width = els.mask.width;
  canvas.height = els.mask.height;
  const c = canvas.getContext('2d');
  c.imageSmoothingEnabled = false;
  c.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const pixels = c.getImageData(0, 0, canvas.width, canvas.height);
  const d = pixels.data;
  const invert = els.maskConvention.value === 'black';
  for (let i = 0; i < d.length; i += 4) {
    const hole = (Math.max(d[i], d[i + 1], d[i + 2]) > 127) !== invert;
    d[i] = 255; d[i + 1] = 0; d[i + 2] = 0; d[i + 3] = hole ? 255 : 0;
  }
  c.putImageData(pixels, 0, 0);
  const scaled = bitmap.width !== canvas.width || bitmap.height !== canvas.height;
  act({ kind: 'mask', canvas });
  setStatus(`Mask ${file.name} loaded${scaled ? ` (scaled from ${bitmap.width}×${bitmap.height})` : ''}.`);
}

// Shows the history's current image and mask.
function showImage() {
  const h = state.history;
  const image = h.image(), previous = h.previous();
  if (els.image.src !== image.url) els.image.src = image.url;
  if (previous && els.previous.src !== previous.url) els.previous.src = previous.url;
  if (!previous) setComparing(false);
  redraw();
}

// --- comparing -------------------------------------------------------------------------------

// The image before the last fill is shown left of a divider, the image now right of it.
function setComparing(on) {
  state.comparing = Boolean(on && state.history && state.history.previous());
  els.previous.hidden = !state.comparing;
  els.mask.hidden = state.comparing;
  els.split.hidden = els.beforeLabel.hidden = els.afterLabel.hidden = !state.comparing;
  els.viewport.classList.toggle('comparing', state.comparing);
  els.compareToggle.setAttribute('aria-pressed', String(state.comparing));
  placeSplit();
  updateControls();
}

function placeSplit() {
  if (!state.comparing) return;
  const width = els.viewport.clientWidth;
  const x = state.split * width;
  els.split.style.left = `${x}px`;
  els.split.setAttribute('aria-valuenow', String(Math.round(state.split * 100)));
  // The part of the earlier image left of the divider, in image pixels.
  const cut = Math.max(0, Math.min(view.width, (x - view.x) / view.scale));
  els.previous.style.clipPath = `inset(0 ${view.width - cut}px 0 0)`;
}

function moveSplit(e) {
  const r = els.viewport.getBoundingClientRect();
  state.split = Math.max(0, Math.min(1, (e.clientX - r.left) / r.width));
  placeSplit();
}

// --- painting ------------------------------------------------------------------------------

function drawStep(step) {
  if (step.kind === 'clear') {
    ctx.clearRect(0, 0, els.mask.width, els.mask.height);
  } else if (step.kind === 'mask') {
    ctx.drawImage(step.canvas, 0, 0);
  } else if (step.kind === 'rect') {
    ctx.fillStyle = HOLE;
    ctx.fillRect(step.x, step.y, step.width, step.height);
  } else {
    drawSegment(step, 0);
  }
}

// Draws a stroke from point `from` on; a lone point is a dot.
function drawSegment(stroke, from) {
  ctx.globalCompositeOperation = stroke.erase ? 'destination-out' : 'source-over';
  ctx.strokeStyle = ctx.fillStyle = HOLE;
  ctx.lineWidth = stroke.width;
  ctx.lineCap = ctx.lineJoin = 'round';
  const p = stroke.points;
  if (p.length === 1) {
    ctx.beginPath();
    ctx.arc(p[0][0], p[0][1], stroke.width / 2, 0, 2 * Math.PI);
    ctx.fill();
  } else {
    ctx.beginPath();
    ctx.moveTo(p[Math.max(0, from - 1)][0], p[Math.max(0, from - 1)][1]);
    for (let i = Math.max(1, from); i < p.length; i++) ctx.lineTo(p[i][0], p[i][1]);
    ctx.stroke();
  }
  ctx.globalCompositeOperation = 'source-over';
}

function redraw() {
  ctx.clearRect(0, 0, els.mask.width, els.mask.height);
  if (state.history) for (const step of state.history.maskSteps()) drawStep(step);
  updateControls();
}

function act(step) {
  setComparing(false);
  state.history.push(step);
  if (step.kind === 'stroke') updateControls();  // already drawn as it was painted
  else redraw();
}

function undo() {
  if (state.request || !state.history || !state.history.undo()) return;
  showImage();
}

function redo() {
  if (state.request || !state.history || !state.history.redo()) return;
  showImage();
}

function backToOriginal() {
  const h = state.history;
  if (!h || state.request || h.image() === h.original) return;
  h.push({ kind: 'image', label: 'original', image: h.original, previous: h.image(), owned: false });
  showImage();
  setComparing(true);
  setStatus('Back to the image as opened; undo (Ctrl+Z) returns to the fills.');
}

function updateControls() {
  const h = state.history, busy = Boolean(state.request);
  els.undo.disabled = busy || !h || !h.done.length;
  els.redo.disabled = busy || !h || !h.undone.length;
  els.clear.disabled = busy || !h || !h.hasHole();
  els.original.disabled = busy || !h || h.image() === h.original;
  els.fill.disabled = !busy && (!h || !h.hasHole());
  els.fill.textContent = busy ? 'Cancel' : 'Fill';
  els.fill.classList.toggle('cancel', busy);
  els.compareToggle.disabled = busy || !h || !h.previous();
  els.download.disabled = els.downloadMask.disabled = !h;
  for (const b of [els.zoomIn, els.zoomOut, els.zoomFit, els.zoomOne]) b.disabled = !h;
}

function brushWidth() { return Number(els.size.value) / view.scale; }

function moveCursor(e) {
  const [x, y] = view.local(e);
  const show = e.pointerType !== 'touch' && !state.comparing && tool() !== 'rect';
  els.cursor.style.display = show ? 'block' : 'none';
  els.cursor.style.left = `${x}px`;
  els.cursor.style.top = `${y}px`;
  els.cursor.style.width = els.cursor.style.height = `${els.size.value}px`;
}

function clampToImage([x, y]) {
  return [Math.max(0, Math.min(view.width, x)), Math.max(0, Math.min(view.height, y))];
}

function showRect() {
  const [x0, y0] = view.toViewport(...state.rect.from), [x1, y1] = view.toViewport(...state.rect.to);
  Object.assign(els.rectPreview.style, {
    left: `${Math.min(x0, x1)}px`, top: `${Math.min(y0, y1)}px`,
    width: `${Math.abs(x1 - x0)}px`, height: `${Math.abs(y1 - y0)}px`,
  });
  els.rectPreview.hidden = false;
}

els.viewport.addEventListener('pointerdown', (e) => {
  if (e.button !== 0 || !state.history) return;
  e.preventDefault();
  // Painting takes the keyboard back from a field (Grow, Size), so that the shortcuts work again.
  if (document.activeElement instanceof HTMLInputElement || document.activeElement instanceof HTMLSelectElement) {
    document.activeElement.blur();
  }
  try { els.viewport.setPointerCapture(e.pointerId); } catch (err) { /* a synthetic pointer */ }
  if (state.comparing) {
    state.splitting = true;
    moveSplit(e);
    return;
  }
  if (state.request) return;
  if (tool() === 'rect') {
    const p = clampToImage(view.toImage(e));
    state.rect = { from: p, to: p };
    showRect();
    return;
  }
  state.stroke = { kind: 'stroke', erase: tool() === 'eraser', width: brushWidth(), points: [view.toImage(e)] };
  drawSegment(state.stroke, 0);
});

els.viewport.addEventListener('pointermove', (e) => {
  moveCursor(e);
  if (state.splitting) { moveSplit(e); return; }
  if (state.rect) {
    state.rect.to = clampToImage(view.toImage(e));
    showRect();
    return;
  }
  if (!state.stroke) return;
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
  const from = state.stroke.points.length;
  for (const ev of events.length ? events : [e]) state.stroke.points.push(view.toImage(ev));
  drawSegment(state.stroke, from);
});

function endPointer() {
  state.splitting = false;
  if (state.rect) {
    const { from, to } = state.rect;
    state.rect = null;
    els.rectPreview.hidden = true;
    const x = Math.round(Math.min(from[0], to[0])), y = Math.round(Math.min(from[1], to[1]));
    const width = Math.round(Math.max(from[0], to[0])) - x, height = Math.round(Math.max(from[1], to[1])) - y;
    if (width > 0 && height > 0) act({ kind: 'rect', x, y, width, height });
  }
  if (state.stroke) {
    const stroke = state.stroke;
    state.stroke = null;
    act(stroke);
  }
}
els.viewport.addEventListener('pointerup', endPointer);
els.viewport.addEventListener('pointercancel', endPointer);
els.viewport.addEventListener('pointerleave', () => { els.cursor.style.display = 'none'; });

// A second finger turns painting into pinching: the stroke its first finger began is dropped.
attachGestures(view, {
  onGesture() {
    if (state.stroke) { state.stroke = null; redraw(); }
    state.rect = null;
    els.rectPreview.hidden = true;
  },
});

// --- downloads -----------------------------------------------------------------------------

function save(blob, filename) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// The image shown, in the chosen format; made when asked, so it always belongs to what is shown.
async function downloadImage() {
  const h = state.history;
  if (!h) return;
  const image = h.image();
  const format = els.downloadFormat.value === 'input' ? state.type : els.downloadFormat.value;
  const ext = format === 'jpeg' ? 'jpg' : format;
  const filename = `${state.name}${h.filled() ? '-filled' : ''}.${ext}`;
  if (image.blob.type === `image/${format}`) { save(image.blob, filename); return; }
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  const c = canvas.getContext('2d');
  if (format === 'jpeg') { c.fillStyle = 'white'; c.fillRect(0, 0, canvas.width, canvas.height); }
  c.drawImage(els.image, 0, 0);
  const quality = Math.max(1, Math.min(100, Number(els.jpegQuality.value) || 92)) / 100;
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, `image/${format}`, quality));
  save(blob, filename);
}

async function downloadMask() {
  if (!state.history) return;
  save(await maskBlob(true), `${state.name}-mask.png`);
}

// --- controls ------------------------------------------------------------------------------

function setSize(value) {
  els.size.value = Math.max(Number(els.size.min), Math.min(Number(els.size.max), value));
  els.sizeValue.textContent = els.size.value;
}

els.openInput.addEventListener('change', () => { openImage(els.openInput.files[0]); els.openInput.value = ''; });
els.maskInput.addEventListener('change', () => { openMask(els.maskInput.files[0]); els.maskInput.value = ''; });
els.size.addEventListener('input', () => setSize(Number(els.size.value)));
els.undo.addEventListener('click', undo);
els.redo.addEventListener('click', redo);
els.clear.addEventListener('click', () => act({ kind: 'clear' }));
els.original.addEventListener('click', backToOriginal);
els.fill.addEventListener('click', () => (state.request ? cancelFill() : fill()));
els.compareToggle.addEventListener('click', () => setComparing(!state.comparing));
els.download.addEventListener('click', downloadImage);
els.downloadMask.addEventListener('click', downloadMask);
els.zoomIn.addEventListener('click', () => view.zoomAt(1.25));
els.zoomOut.addEventListener('click', () => view.zoomAt(0.8));
els.zoomFit.addEventListener('click', () => view.fit());
els.zoomOne.addEventListener('click', () => view.one());
for (const radio of document.querySelectorAll('input[name=tool]')) radio.addEventListener('change', () => setTool(radio.value));
els.split.addEventListener('keydown', (e) => {
  const step = e.shiftKey ? 0.1 : 0.02;
  if (e.key === 'ArrowLeft') state.split = Math.max(0, state.split - step);
  else if (e.key === 'ArrowRight') state.split = Math.min(1, state.split + step);
  else return;
  e.preventDefault();
  e.stopPropagation();
  placeSplit();
});
window.addEventListener('resize', () => placeSplit());

document.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement && ['text', 'number'].includes(e.target.type)) return;
  if (e.target instanceof HTMLSelectElement) return;
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  if (mod && key === 'z') { e.preventDefault(); if (e.shiftKey) redo(); else undo(); }
  else if (mod && key === 'y') { e.preventDefault(); redo(); }
  else if (mod && key === 'enter') { e.preventDefault(); fill(); }
  else if (mod) return;
  else if (e.key === 'Escape') cancelFill();
  else if (e.key === '[') setSize(Number(els.size.value) - Math.max(1, Math.round(els.size.value * 0.15)));
  else if (e.key === ']') setSize(Number(els.size.value) + Math.max(1, Math.round(els.size.value * 0.15)));
  else if (key === 'b') setTool('brush');
  else if (key === 'r') setTool('rect');
  else if (key === 'e') setTool('eraser');
  else if (key === 'c' && !els.compareToggle.disabled) setComparing(!state.comparing);
  else if (!state.history) return;
  else if (e.key === '+' || e.key === '=') view.zoomAt(1.25);
  else if (e.key === '-') view.zoomAt(0.8);
  else if (e.key === '0') view.fit();
  else if (e.key === '1') view.one();
});

els.viewport.addEventListener('dragover', (e) => { e.preventDefault(); els.viewport.classList.add('dragging'); });
els.viewport.addEventListener('dragleave', () => els.viewport.classList.remove('dragging'));
els.viewport.addEventListener('drop', (e) => {
  e.preventDefault();
  els.viewport.classList.remove('dragging');
  if (e.dataTransfer.files.length) openImage(e.dataTransfer.files[0]);
});
document.addEventListener('paste', (e) => {
  const item = [...e.clipboardData.items].find((i) => i.type.startsWith('image/'));
  if (item) openImage(item.getAsFile());
});
// Closing the page while a fill runs frees the server's slot at once.
window.addEventListener('pagehide', cancelFill);

setSize(Number(els.size.value));
updateControls();
describeModel();
