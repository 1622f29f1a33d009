// The pconv web page: open an image, paint the hole, fill it through /api/v1/inpaint.
// The mask canvas has the image's full resolution and is only scaled for display, so the
// server gets the original file and a mask of exactly its size.
'use strict';

const $ = (id) => document.getElementById(id);
const els = {
  model: $('model'), status: $('status'), dropZone: $('drop-zone'), stage: $('stage'),
  before: $('before'), mask: $('mask'), after: $('after'), cursor: $('cursor'),
  openInput: $('open-input'), maskInput: $('mask-input'), invertMask: $('invert-mask'), quality: $('quality'),
  size: $('size'), sizeValue: $('size-value'), undo: $('undo'), redo: $('redo'), clear: $('clear'),
  fill: $('fill'), edit: $('edit'), download: $('download'), compareBar: $('compare-bar'), compare: $('compare'),
};
const ctx = els.mask.getContext('2d');
const HOLE = 'rgb(255, 0, 0)';

const state = {
  file: null,      // the image as opened: sent unchanged, at full resolution
  name: 'image',
  actions: [],     // {kind: 'stroke', erase, width, points} | {kind: 'clear'} | {kind: 'mask', canvas}
  undone: [],
  stroke: null,    // the stroke being drawn
  busy: false,
  resultUrl: null,
};

function setStatus(text, isError = false) {
  els.status.textContent = text;
  els.status.classList.toggle('error', isError);
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
  // The server's own setting is the page's default; one that is neither preset stays selectable.
  if (info.quality === 'fast' || info.quality === 'best') {
    els.quality.value = info.quality;
  } else {
    els.quality.add(new Option("Server's setting", ''), 0);
    els.quality.value = '';
  }
}

async function fill() {
  if (!state.file || state.busy || !hasHole()) return;
  state.busy = true;
  updateButtons();
  setStatus('Filling…');
  const started = performance.now();
  try {
    const form = new FormData();
    form.append('image', state.file, state.file.name || 'image.png');
    form.append('mask', await maskBlob(), 'mask.png');
    form.append('format', 'png');
    if (els.quality.value) form.append('quality', els.quality.value);
    const response = await api('/api/v1/inpaint', { method: 'POST', body: form });
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
      const retry = response.headers.get('Retry-After');
      throw new Error(retry ? `${message} (retry in ${retry} s)` : message);
    }
    showResult(await response.blob());
    setStatus(`Filled in ${((performance.now() - started) / 1000).toFixed(1)} s. ` +
      'Drag the slider to compare; download the result as PNG.');
  } catch (e) {
    setStatus(`Fill failed: ${e.message}`, true);
  } finally {
    state.busy = false;
    updateButtons();
  }
}

// The mask as the API reads it: an opaque image, bright where the hole is.
function maskBlob() {
  const out = document.createElement('canvas');
  out.width = els.mask.width;
  out.height = els.mask.height;
  const c = out.getContext('2d');
  c.fillStyle = 'black';
  c.fillRect(0, 0, out.width, out.height);
  c.drawImage(els.mask, 0, 0);
  return new Promise((resolve) => out.toBlob(resolve, 'image/png'));
}

// --- images ----------------------------------------------------------------------------------

async function openImage(file) {
  if (!file || !file.type.startsWith('image/')) {
    setStatus(`${file ? file.name : 'That'} is not an image.`, true);
    return;
  }
  const url = URL.createObjectURL(file);
  try {
    await new Promise((resolve, reject) => {
      els.before.onload = resolve;
      els.before.onerror = () => reject(new Error('the browser cannot decode it'));
      els.before.src = url;
    });
  } catch (e) {
    setStatus(`Cannot open ${file.name}: ${e.message}`, true);
    return;
  }
  state.file = file;
  state.name = (file.name || 'image').replace(/\.[^.]*$/, '');
  els.mask.width = els.before.naturalWidth;
  els.mask.height = els.before.naturalHeight;
  state.actions = [];
  state.undone = [];
  els.stage.hidden = false;
  showEditor();
  setStatus(`${file.name || 'Pasted image'}: ${els.mask.width}×${els.mask.height}. ` +
    'Paint over what should go, then press Fill.');
}

// A mask file becomes one undoable action: its hole pixels, scaled to the image if need be.
async function openMask(file) {
  if (!state.file) { setStatus('Open an image first, then its mask.', true); return; }
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch (e) {
    setStatus(`Cannot open ${file.name} as a mask.`, true);
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
  const invert = els.invertMask.checked;
  for (let i = 0; i < d.length; i += 4) {
    const hole = (Math.max(d[i], d[i + 1], d[i + 2]) > 127) !== invert;
    d[i] = 255; d[i + 1] = 0; d[i + 2] = 0; d[i + 3] = hole ? 255 : 0;
  }
  c.putImageData(pixels, 0, 0);
  const scaled = bitmap.width !== canvas.width || bitmap.height !== canvas.height;
  act({ kind: 'mask', canvas });
  setStatus(`Mask ${file.name} loaded${scaled ? ` (scaled from ${bitmap.width}×${bitmap.height})` : ''}.`);
}

function showResult(blob) {
  if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
  state.resultUrl = URL.createObjectURL(blob);
  els.after.src = state.resultUrl;
  els.download.href = state.resultUrl;
  els.download.download = `${state.name}-filled.png`;
  els.after.hidden = false;
  els.mask.hidden = true;
  els.compareBar.hidden = false;
  els.download.hidden = false;
  els.edit.hidden = false;
  updateCompare();
}

function showEditor() {
  els.after.hidden = true;
  els.mask.hidden = false;
  els.compareBar.hidden = true;
  els.edit.hidden = true;
  els.download.hidden = !state.resultUrl;
  redraw();
}

function updateCompare() {
  els.after.style.clipPath = `inset(0 0 0 ${els.compare.value}%)`;
}

// --- painting ------------------------------------------------------------------------------

function drawAction(action) {
  if (action.kind === 'clear') {
    ctx.clearRect(0, 0, els.mask.width, els.mask.height);
  } else if (action.kind === 'mask') {
    ctx.globalCompositeOperation = 'source-over';
    ctx.drawImage(action.canvas, 0, 0);
  } else {
    drawSegment(action, 0);
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
  for (const action of state.actions) drawAction(action);
  updateButtons();
}

function act(action) {
  state.actions.push(action);
  state.undone = [];
  redraw();
}

function undo() {
  if (!state.actions.length) return;
  state.undone.push(state.actions.pop());
  redraw();
}

function redo() {
  if (!state.undone.length) return;
  state.actions.push(state.undone.pop());
  redraw();
}

function hasHole() {
  let painted = false;
  for (const a of state.actions) {
    if (a.kind === 'clear') painted = false;
    else if (a.kind === 'mask' || !a.erase) painted = true;
  }
  return painted;
}

function updateButtons() {
  els.undo.disabled = !state.actions.length;
  els.redo.disabled = !state.undone.length;
  els.clear.disabled = !state.file || !hasHole();
  els.fill.disabled = !state.file || state.busy || !hasHole();
}

// Pointer position in image pixels; the brush size is in screen pixels.
function imagePoint(e) {
  const r = els.mask.getBoundingClientRect();
  return [(e.clientX - r.left) * els.mask.width / r.width, (e.clientY - r.top) * els.mask.height / r.height];
}

function brushWidth() {
  const r = els.mask.getBoundingClientRect();
  return Number(els.size.value) * els.mask.width / r.width;
}

function moveCursor(e) {
  const r = els.stage.getBoundingClientRect();
  els.cursor.style.display = e.pointerType === 'touch' ? 'none' : 'block';
  els.cursor.style.left = `${e.clientX - r.left}px`;
  els.cursor.style.top = `${e.clientY - r.top}px`;
  els.cursor.style.width = els.cursor.style.height = `${els.size.value}px`;
}

els.mask.addEventListener('pointerdown', (e) => {
  if (e.button !== 0 || state.busy) return;
  e.preventDefault();
  try { els.mask.setPointerCapture(e.pointerId); } catch (err) { /* a synthetic pointer */ }
  const erase = document.querySelector('input[name=tool]:checked').value === 'eraser';
  state.stroke = { kind: 'stroke', erase, width: brushWidth(), points: [imagePoint(e)] };
  drawSegment(state.stroke, 0);
});
els.mask.addEventListener('pointermove', (e) => {
  moveCursor(e);
  if (!state.stroke) return;
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  const from = state.stroke.points.length;
  for (const ev of events.length ? events : [e]) state.stroke.points.push(imagePoint(ev));
  drawSegment(state.stroke, from);
});
function endStroke() {
  if (!state.stroke) return;
  const stroke = state.stroke;
  state.stroke = null;
  act(stroke);
}
els.mask.addEventListener('pointerup', endStroke);
els.mask.addEventListener('pointercancel', endStroke);
els.mask.addEventListener('pointerleave', () => { els.cursor.style.display = 'none'; });

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
els.fill.addEventListener('click', fill);
els.edit.addEventListener('click', showEditor);
els.compare.addEventListener('input', updateCompare);

document.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement && e.target.type === 'text') return;
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  if (mod && key === 'z') { e.preventDefault(); if (e.shiftKey) redo(); else undo(); }
  else if (mod && key === 'y') { e.preventDefault(); redo(); }
  else if (mod && key === 'enter') { e.preventDefault(); fill(); }
  else if (mod) return;
  else if (e.key === '[') setSize(Number(els.size.value) - Math.max(1, Math.round(els.size.value * 0.15)));
  else if (e.key === ']') setSize(Number(els.size.value) + Math.max(1, Math.round(els.size.value * 0.15)));
  else if (key === 'b') document.querySelector('input[value=brush]').checked = true;
  else if (key === 'e') document.querySelector('input[value=eraser]').checked = true;
});

els.dropZone.addEventListener('dragover', (e) => { e.preventDefault(); els.dropZone.classList.add('dragging'); });
els.dropZone.addEventListener('dragleave', () => els.dropZone.classList.remove('dragging'));
els.dropZone.addEventListener('drop', (e) => {
  e.preventDefault();
  els.dropZone.classList.remove('dragging');
  if (e.dataTransfer.files.length) openImage(e.dataTransfer.files[0]);
});
document.addEventListener('paste', (e) => {
  const item = [...e.clipboardData.items].find((i) => i.type.startsWith('image/'));
  if (item) openImage(item.getAsFile());
});

setSize(Number(els.size.value));
updateButtons();
describeModel();
