// Zoom and pan of the image: a transform on the layer that holds the image, the mask and the
// image before the last fill, all at the image's full resolution. Wheel and pinch zoom about the
// pointer; space-drag, the middle button and two fingers pan.

const MIN_SCALE = 0.02;
const MAX_SCALE = 32;

export class View {
  constructor(viewport, layer, onChange) {
    this.viewport = viewport;
    this.layer = layer;
    this.onChange = onChange;
    this.width = 0;
    this.height = 0;
    this.scale = 1;
    this.x = 0;
    this.y = 0;
  }

  setImageSize(width, height) {
    this.width = width;
    this.height = height;
    for (const el of [this.layer, ...this.layer.children]) {
      el.style.width = `${width}px`;
      el.style.height = `${height}px`;
    }
  }

  // The scale at which the whole image fits the viewport.
  fitScale() {
    const r = this.viewport.getBoundingClientRect();
    if (!this.width || !r.width) return 1;
    return Math.min((r.width - 8) / this.width, (r.height - 8) / this.height);
  }

  // The whole image in view; `upscale`: enlarged to the viewport too (the Fit button), otherwise
  // never beyond 1:1 (a newly opened image is shown at its own size when it fits).
  fit(upscale = true) {
    this.setScale(upscale ? this.fitScale() : Math.min(1, this.fitScale()));
    this.center();
  }

  one() { this.zoomAt(1 / this.scale); }

  center() {
    const r = this.viewport.getBoundingClientRect();
    this.x = (r.width - this.width * this.scale) / 2;
    this.y = (r.height - this.height * this.scale) / 2;
    this.apply();
  }

  setScale(scale) { this.scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale)); }

  // Zooms by `factor` keeping the image point under viewport point (vx, vy) in place; the
  // viewport's centre by default.
  zoomAt(factor, vx, vy) {
    const r = this.viewport.getBoundingClientRect();
    if (vx === undefined) { vx = r.width / 2; vy = r.height / 2; }
    const ix = (vx - this.x) / this.scale, iy = (vy - this.y) / this.scale;
    this.setScale(this.scale * factor);
    this.x = vx - ix * this.scale;
    this.y = vy - iy * this.scale;
    this.apply();
  }

  panBy(dx, dy) {
    this.x += dx;
    this.y += dy;
    this.apply();
  }

  // Keeps at least a sliver of the image in view, so that it cannot be lost off screen.
  clamp() {
    const r = this.viewport.getBoundingClientRect();
    const keep = 48;
    this.x = Math.min(r.width - keep, Math.max(keep - this.width * this.scale, this.x));
    this.y = Math.min(r.height - keep, Math.max(keep - this.height * this.scale, this.y));
  }

  apply() {
    this.clamp();
    this.layer.style.transform = `translate(${this.x}px, ${this.y}px) scale(${this.scale})`;
    // Beyond 2:1 each image pixel is shown as a square, as a photographer checking a fill expects.
    this.layer.classList.toggle('pixelated', this.scale >= 2);
    this.onChange();
  }

  // Viewport coordinates of a pointer event.
  local(e) {
    const r = this.viewport.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  // Image coordinates (pixels, fractional) of a pointer event.
  toImage(e) {
    const [vx, vy] = this.local(e);
    return [(vx - this.x) / this.scale, (vy - this.y) / this.scale];
  }

  // Viewport coordinates of an image point.
  toViewport(ix, iy) { return [this.x + ix * this.scale, this.y + iy * this.scale]; }
}

// Wheel zoom, panning with space or the middle button, and two-finger pinch. Listens in the capture
// phase and stops the events it takes (immediately: painting listens on the same element), so that
// painting never sees them. `hooks.onGesture` is
// called when a gesture takes over (to drop a stroke that its first finger began).
export function attachGestures(view, hooks) {
  const el = view.viewport;
  const touches = new Map();  // pointerId -> [x, y]
  let drag = null;            // {id, last: [x, y]} while panning with a mouse or pen
  let pinch = null;           // {distance, middle: [x, y]}
  let space = false;

  el.addEventListener('wheel', (e) => {
    if (!view.width) return;
    e.preventDefault();
    const [vx, vy] = view.local(e);
    // Trackpad pinches arrive as wheel events with ctrlKey, in smaller steps.
    const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
    view.zoomAt(Math.exp(-delta * (e.ctrlKey ? 0.01 : 0.0015)), vx, vy);
  }, { passive: false });

  const pinchState = () => {
    const [a, b] = [...touches.values()];
    return { distance: Math.hypot(a[0] - b[0], a[1] - b[1]), middle: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2] };
  };

  el.addEventListener('pointerdown', (e) => {
    if (!view.width) return;
    if (e.pointerType === 'touch') {
      touches.set(e.pointerId, view.local(e));
      if (touches.size === 2) {
        hooks.onGesture();
        pinch = pinchState();
      }
      if (touches.size >= 2) { e.stopImmediatePropagation(); e.preventDefault(); }
      return;
    }
    if (e.button === 1 || (e.button === 0 && space)) {
      e.stopImmediatePropagation();
      e.preventDefault();
      drag = { id: e.pointerId, last: view.local(e) };
      el.classList.add('panning');
      try { el.setPointerCapture(e.pointerId); } catch (err) { /* a synthetic pointer */ }
    }
  }, true);

  el.addEventListener('pointermove', (e) => {
    if (touches.has(e.pointerId)) {
      touches.set(e.pointerId, view.local(e));
      if (pinch && touches.size === 2) {
        e.stopImmediatePropagation();
        const now = pinchState();
        view.panBy(now.middle[0] - pinch.middle[0], now.middle[1] - pinch.middle[1]);
        if (pinch.distance > 0) view.zoomAt(now.distance / pinch.distance, now.middle[0], now.middle[1]);
        pinch = now;
      }
      return;
    }
    if (drag && e.pointerId === drag.id) {
      e.stopImmediatePropagation();
      const p = view.local(e);
      view.panBy(p[0] - drag.last[0], p[1] - drag.last[1]);
      drag.last = p;
    }
  }, true);

  const end = (e) => {
    if (touches.delete(e.pointerId) && pinch) {
      e.stopImmediatePropagation();
      if (touches.size < 2) pinch = null;
    }
    if (drag && e.pointerId === drag.id) {
      e.stopImmediatePropagation();
      drag = null;
      el.classList.remove('panning');
    }
  };
  el.addEventListener('pointerup', end, true);
  el.addEventListener('pointercancel', end, true);

  // The middle button's default is autoscroll; its click would paste on some systems.
  el.addEventListener('mousedown', (e) => { if (e.button === 1) e.preventDefault(); });

  // Space pans while the pointer is over the image; elsewhere it keeps its usual meaning (pressing
  // the focused button).
  let hover = false;
  el.addEventListener('pointerenter', () => { hover = true; });
  el.addEventListener('pointerleave', () => { hover = false; });
  const typing = (e) => e.target instanceof HTMLInputElement && ['text', 'number'].includes(e.target.type);
  document.addEventListener('keydown', (e) => {
    if (e.code === 'Space' && !typing(e) && (hover || e.target === document.body)) {
      e.preventDefault();
      space = true;
      el.classList.add('space');
    }
  });
  document.addEventListener('keyup', (e) => {
    if (e.code === 'Space') { space = false; el.classList.remove('space'); }
  });
}
