// The edit history: one list of steps, undone and redone in order, whether a step changed the
// mask (a stroke, a rectangle, a mask file, clearing) or the image (a fill, going back to the
// original). The image shown is the one the last image step made; the mask is the mask steps
// after it. Undoing a fill brings back its image and the mask it was filled with.

export class History {
  constructor(original) {
    this.original = original;  // {blob, url, width, height}
    this.done = [];
    this.undone = [];
  }

  push(step) {
    this.done.push(step);
    for (const s of this.undone) if (s.kind === 'image' && s.owned) URL.revokeObjectURL(s.image.url);
    this.undone = [];
  }

  undo() {
    if (!this.done.length) return null;
    const step = this.done.pop();
    this.undone.push(step);
    return step;
  }

  redo() {
    if (!this.undone.length) return null;
    const step = this.undone.pop();
    this.done.push(step);
    return step;
  }

  lastImageIndex() {
    for (let i = this.done.length - 1; i >= 0; i--) if (this.done[i].kind === 'image') return i;
    return -1;
  }

  // The image shown: the last image step's, or the original.
  image() {
    const i = this.lastImageIndex();
    return i < 0 ? this.original : this.done[i].image;
  }

  // The image before the last image step, for comparing; null when the original is shown as opened.
  previous() {
    const i = this.lastImageIndex();
    return i < 0 ? null : this.done[i].previous;
  }

  // Whether the image shown came out of a fill (and not only the original).
  filled() {
    const i = this.lastImageIndex();
    return i >= 0 && this.done[i].label === 'fill';
  }

  maskSteps() { return this.done.slice(this.lastImageIndex() + 1); }

  hasHole() {
    let painted = false;
    for (const s of this.maskSteps()) {
      if (s.kind === 'clear') painted = false;
      else if (s.kind !== 'stroke' || !s.erase) painted = true;
    }
    return painted;
  }

  dispose() {
    for (const s of [...this.done, ...this.undone]) if (s.kind === 'image' && s.owned) URL.revokeObjectURL(s.image.url);
    URL.revokeObjectURL(this.original.url);
  }
}
