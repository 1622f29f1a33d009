// The web page end to end in a real browser: Debian's headless Chromium, driven by Playwright.
// Starts `pconv serve` on a free port, opens the fixture photo, paints a stroke with the mouse,
// fills it, and checks the result: changed inside the stroke, bit-identical outside it. Then:
// comparing on the image, a rectangle filled on top of the first fill, undo and redo across
// fills, growing the mask, zoom (wheel, buttons, keys) with painting where the pointer is, a pen,
// a mask file at the best quality (the server's debug log counts the passes), downloads in the
// input's format and as JPEG, Cancel, a large photo, the style choice, and a phone-sized window.
// Saves screenshots next to the fixtures.
//
//   node tests/web/fill.test.mjs PCONV_BINARY FIXTURE_FOLDER
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [pconv, fixtures] = process.argv.slice(2);
if (!pconv || !fixtures) {
  console.error('usage: node fill.test.mjs PCONV_BINARY FIXTURE_FOLDER');
  process.exit(2);
}
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(browserPath)) {
  console.error(`${browserPath}: no Chromium (scripts/install-deps.sh installs Debian's; or set CHROMIUM)`);
  process.exit(1);
}

function startServer() {
  const server = spawn(pconv, ['serve', '--model', path.join(fixtures, 'model.safetensors'), '--port', '0',
    '--threads', '1', '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const exited = new Promise((resolve) => server.on('exit', (code, signal) => resolve({ code, signal, log })));
  const port = new Promise((resolve, reject) => {
    server.stderr.on('data', (d) => {
      log += d;
      const m = log.match(/listening on http:\/\/[^/]+:(\d+)\//);
      if (m) resolve(Number(m[1]));
    });
    exited.then(({ code }) => reject(new Error(`pconv serve exited with ${code}:\n${log}`)));
    setTimeout(() => reject(new Error(`pconv serve did not start:\n${log}`)), 30000).unref();
  });
  return { server, port, exited, serverLog: () => log };
}

// Pixel statistics of the image shown against `beforeUrl`, split by the page's own mask (or by a
// mask saved earlier). `grow`: changed pixels outside the mask must lie within that distance of it.
async function compareInPage(page, beforeUrl, { grow = 0 } = {}) {
  return page.evaluate(async ({ beforeUrl, grow }) => {
    const pixels = async (url) => {
      const bitmap = await createImageBitmap(await (await fetch(url)).blob());
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const c = canvas.getContext('2d');
      c.drawImage(bitmap, 0, 0);
      return { data: c.getImageData(0, 0, bitmap.width, bitmap.height).data, width: bitmap.width, height: bitmap.height };
    };
    const before = await pixels(beforeUrl);
    const after = await pixels(document.getElementById('image').src);
    const m = document.getElementById('mask');
    const alpha = window.savedMask || m.getContext('2d').getImageData(0, 0, m.width, m.height).data.filter((v, i) => i % 4 === 3);
    const w = after.width, h = after.height;
    const near = (x, y) => {
      for (let dy = -grow - 1; dy <= grow + 1; dy++)
        for (let dx = -grow - 1; dx <= grow + 1; dx++) {
          const u = x + dx, v = y + dy;
          if (u >= 0 && v >= 0 && u < w && v < h && alpha[v * w + u] > 0) return true;
        }
      return false;
    };
    const s = { width: w, height: h, inside: 0, insideChanged: 0, outside: 0, outsideChanged: 0, farChanged: 0 };
    for (let p = 0; p < w * h; p++) {
      const changed = [0, 1, 2].some((k) => before.data[4 * p + k] !== after.data[4 * p + k]);
      if (alpha[p] === 255) { s.inside++; if (changed) s.insideChanged++; }
      if (alpha[p] === 0) {
        s.outside++;
        if (changed) { s.outsideChanged++; if (!near(p % w, Math.floor(p / w))) s.farChanged++; }
      }
    }
    return s;
  }, { beforeUrl, grow });
}

const imageSrc = (page) => page.getAttribute('#image', 'src');
// Keeps the mask's alpha in the page, for compareInPage after the fill has cleared it.
const saveMask = (page) => page.evaluate(() => {
  const m = document.getElementById('mask');
  window.savedMask = m.getContext('2d').getImageData(0, 0, m.width, m.height).data.filter((v, i) => i % 4 === 3);
});

// Fills and checks the result against the image before: filled inside the mask, identical outside
// it (or within `grow` pixels of it). Returns the new image's URL.
async function fillAndCheck(page, what, { size = [320, 240], grow = 0 } = {}) {
  const before = await imageSrc(page);
  await saveMask(page);
  await page.click('#fill');
  await page.waitForFunction((old) => {
    const img = document.getElementById('image');
    return img.src !== old && img.complete && img.naturalWidth > 0;
  }, before);
  const s = await compareInPage(page, before, { grow });
  console.log(`${what}: ${JSON.stringify(s)}`);
  assert.deepEqual([s.width, s.height], size, 'the result has the photo\'s full size');
  assert.ok(s.inside > 500, `${what}: the mask holds a hole`);
  assert.ok(s.insideChanged > 0.5 * s.inside, `${what}: most hole pixels were filled`);
  if (grow === 0) assert.equal(s.outsideChanged, 0, `${what}: every pixel outside the hole is unchanged`);
  else {
    assert.ok(s.outsideChanged > 0, `${what}: the grown band around the mask was filled too`);
    assert.equal(s.farChanged, 0, `${what}: nothing beyond the grown band changed`);
  }
  assert.ok(await page.isVisible('#split'), 'after a fill, the page compares');
  return imageSrc(page);
}

// Drags the mouse through points given as fractions of the image as shown.
async function drag(page, points) {
  const box = await page.locator('#image').boundingBox();
  const at = ([fx, fy]) => [box.x + box.width * fx, box.y + box.height * fy];
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 4 });
  await page.mouse.up();
}

const zoom = async (page) => Number((await page.textContent('#zoom-value')).replace('%', ''));

const { server, port, exited, serverLog } = startServer();
const browser = await chromium.launch({
  executablePath: browserPath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const errors = [];
const shot = (page, name) => page.screenshot({ path: path.join(fixtures, name) });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const address = `http://127.0.0.1:${await port}/`;
  await page.goto(address);
  await page.waitForFunction(() => document.getElementById('model').textContent.includes('PConv U-Net'));
  assert.equal(await page.inputValue('#quality'), 'fast', 'the quality switch starts at the server\'s setting');
  assert.ok(!(await page.isVisible('#style-choice')), 'one model: no style to choose');
  const toolbarHeight = async () => (await page.locator('#viewport').boundingBox()).y;
  const emptyLayout = await toolbarHeight();

  // Open the photo and paint one stroke with the mouse; no growing, so that the check is exact.
  await page.setInputFiles('#open-input', path.join(fixtures, 'photo.png'));
  await page.waitForSelector('#layer:not([hidden])');
  await page.fill('#grow', '0');
  assert.ok(await page.isDisabled('#fill'), 'nothing to fill before painting');
  await drag(page, Array.from({ length: 13 }, (_, i) => [0.15 + 0.04 * i, 0.55 + 0.01 * i]));
  assert.ok(await page.isEnabled('#fill'));

  // The keyboard: brush size with ] and [, undo and redo.
  const size = Number(await page.inputValue('#size'));
  await page.keyboard.press(']');
  assert.ok(Number(await page.inputValue('#size')) > size, '] grows the brush');
  await page.keyboard.press('[');
  await page.keyboard.press('Control+z');
  assert.ok(await page.isDisabled('#fill'), 'undo removed the stroke');
  await page.keyboard.press('Control+Shift+Z');
  assert.ok(await page.isEnabled('#fill'), 'redo brought it back');
  await shot(page, 'browser-painted.png');

  const original = await imageSrc(page);
  const first = await fillAndCheck(page, 'mouse stroke');
  assert.equal(await toolbarHeight(), emptyLayout, 'the layout does not move when results appear');

  // Comparing: the divider follows a drag on the image; left of it is the image before the fill.
  const vp = await page.locator('#viewport').boundingBox();
  await page.mouse.move(vp.x + vp.width * 0.5, vp.y + vp.height * 0.5);
  await page.mouse.down();
  await page.mouse.move(vp.x + vp.width * 0.25, vp.y + vp.height * 0.5, { steps: 3 });
  await page.mouse.up();
  assert.equal(await page.getAttribute('#split', 'aria-valuenow'), '25');
  assert.ok(await page.isVisible('#previous'), 'the image before is shown left of the divider');
  await shot(page, 'browser-compare.png');
  assert.equal(await imageSrc(page), first, 'dragging to compare paints nothing');

  // A rectangle on the filled image, filled in turn: the first fill is kept outside it.
  await page.keyboard.press('r');
  assert.ok(!(await page.isVisible('#split')), 'choosing a tool ends comparing');
  await drag(page, [[0.6, 0.15], [0.8, 0.35]]);
  const second = await fillAndCheck(page, 'rectangle on the first fill');

  // Undo goes back through the fill to the first result and its rectangle; redo returns.
  await page.keyboard.press('Control+z');
  assert.equal(await imageSrc(page), first, 'undo brought back the first result');
  assert.ok(await page.isEnabled('#fill'), '... and the rectangle it was filled with');
  await page.click('#redo');
  assert.equal(await imageSrc(page), second, 'redo brought back the second result');
  await page.click('#original');
  assert.equal(await imageSrc(page), original, 'Original shows the photo as opened');
  await page.keyboard.press('Control+z');
  assert.equal(await imageSrc(page), second, 'and that too can be undone');

  // Growing the mask: the band around the painted hole is filled, nothing beyond it.
  await page.keyboard.press('b');
  await page.fill('#grow', '5');
  await drag(page, [[0.1, 0.15], [0.4, 0.2]]);
  await fillAndCheck(page, 'grown stroke', { grow: 5 });

  // Zoom: 1:1, the wheel about the pointer, the buttons, the keys, and fit.
  await page.keyboard.press('b');
  await page.click('#zoom-one');
  assert.equal(await zoom(page), 100);
  const img = await page.locator('#image').boundingBox();
  await page.mouse.move(img.x + 100, img.y + 80);
  await page.mouse.wheel(0, -300);
  const zoomed = await zoom(page);
  assert.ok(zoomed > 150, `the wheel zoomed in (${zoomed}%)`);
  const z = await page.locator('#image').boundingBox();
  assert.ok(Math.abs((img.x + 100 - z.x) / (z.width / 320) - 100) < 1.5, 'the point under the pointer stays put');
  await page.click('#zoom-in');
  assert.ok(await zoom(page) > zoomed, '+ zooms in');
  await page.keyboard.press('-');
  await page.keyboard.press('1');
  assert.equal(await zoom(page), 100, 'the 1 key is 1:1');
  await page.keyboard.press('+');
  await page.keyboard.press('+');
  // Painting while zoomed lands where the pointer is: a dot over image pixel (60, 200).
  const at = await page.locator('#image').boundingBox();
  const k = at.width / 320;
  await page.mouse.click(at.x + 60.5 * k, at.y + 200.5 * k);
  const alphaAt = await page.evaluate(() => document.getElementById('mask').getContext('2d').getImageData(60, 200, 1, 1).data[3]);
  assert.equal(alphaAt, 255, 'the dot is painted under the pointer at this zoom');
  await page.keyboard.press('Control+z');
  // Space-drag pans.
  const panFrom = await page.locator('#image').boundingBox();
  await page.keyboard.down('Space');
  await page.mouse.move(vp.x + 300, vp.y + 300);
  await page.mouse.down();
  await page.mouse.move(vp.x + 400, vp.y + 350, { steps: 3 });
  await page.mouse.up();
  await page.keyboard.up('Space');
  const panTo = await page.locator('#image').boundingBox();
  assert.ok(Math.abs(panTo.x - panFrom.x - 100) < 1 && Math.abs(panTo.y - panFrom.y - 50) < 1, 'space-drag pans');
  assert.ok(await page.isDisabled('#undo') === false && !(await page.isEnabled('#clear')), 'panning painted nothing');
  await page.click('#zoom-fit');

  // A pen stroke after clearing, with the eraser key checked on the way.
  await page.fill('#grow', '0');
  await drag(page, [[0.5, 0.8], [0.7, 0.8]]);
  await page.click('#clear');
  assert.ok(await page.isDisabled('#fill'), 'clear removed the hole');
  await page.keyboard.press('e');
  assert.ok(await page.isChecked('input[value=eraser]'));
  await page.keyboard.press('b');
  const box = await page.locator('#image').boundingBox();
  const pen = { pointerType: 'pen', pointerId: 7, isPrimary: true, button: 0, buttons: 1 };
  const penAt = (fx, fy) => ({ ...pen, clientX: box.x + box.width * fx, clientY: box.y + box.height * fy });
  await page.dispatchEvent('#viewport', 'pointerdown', penAt(0.3, 0.2));
  for (let i = 1; i <= 6; i++) await page.dispatchEvent('#viewport', 'pointermove', penAt(0.3 + 0.05 * i, 0.2));
  await page.dispatchEvent('#viewport', 'pointerup', penAt(0.6, 0.2));
  await fillAndCheck(page, 'pen stroke');

  // A mask file instead of painting, filled at the best quality: the request says so.
  await page.setInputFiles('#mask-input', path.join(fixtures, 'mask.png'));
  await page.waitForFunction(() => !document.getElementById('fill').disabled);
  await page.selectOption('#quality', 'best');
  assert.doesNotMatch(serverLog(), /network pass [0-9.]+ ms \(8x\)/);
  await fillAndCheck(page, 'mask file');
  assert.match(serverLog(), /network pass [0-9.]+ ms \(8x\)/, 'the server ran eight passes');
  await page.selectOption('#quality', 'fast');

  // Downloads: the image shown, in the input's format or as JPEG; the mask as PNG.
  const download = async (click) => {
    const [d] = await Promise.all([page.waitForEvent('download'), page.click(click)]);
    const saved = path.join(fixtures, `browser-download-${d.suggestedFilename()}`);
    await d.saveAs(saved);
    return { name: d.suggestedFilename(), bytes: readFileSync(saved) };
  };
  const png = await download('#download');
  assert.equal(png.name, 'photo-filled.png');
  assert.equal(png.bytes.subarray(1, 4).toString(), 'PNG');
  await page.selectOption('#download-format', 'jpeg');
  const jpeg = await download('#download');
  assert.equal(jpeg.name, 'photo-filled.jpg');
  assert.deepEqual([...jpeg.bytes.subarray(0, 3)], [0xff, 0xd8, 0xff]);
  await page.selectOption('#download-format', 'input');
  const mask = await download('#download-mask');
  assert.equal(mask.name, 'photo-mask.png');

  // Cancel: a slow upload (throttled) is aborted, and nothing changes.
  await page.setInputFiles('#open-input', path.join(fixtures, 'large.png'));
  await page.waitForFunction(() => document.getElementById('mask').width === 2400);
  const afterOpen = await download('#download');
  assert.equal(afterOpen.name, 'large.png', 'after opening a second image the download is that image');
  const large = await page.locator('#image').boundingBox();
  assert.ok(large.width < 1280, `a large photo is shown fitted (${large.width} px wide)`);
  await page.keyboard.press('r');
  await drag(page, [[0.3, 0.4], [0.7, 0.6]]);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions',
    { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 50 * 1024 });
  const largeSrc = await imageSrc(page);
  await page.click('#fill');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Filling'));
  assert.equal(await page.textContent('#fill'), 'Cancel');
  assert.ok(await page.isVisible('#spinner'), 'a spinner shows while filling');
  await page.waitForTimeout(300);
  await page.click('#fill');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Cancelled'));
  assert.equal(await imageSrc(page), largeSrc, 'a cancelled fill changes nothing');
  assert.equal(await page.textContent('#fill'), 'Fill');
  await cdp.send('Network.emulateNetworkConditions',
    { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

  // The large photo is painted, sent and filled at full size.
  await fillAndCheck(page, 'large photo', { size: [2400, 1600] });
  assert.deepEqual(errors, [], 'no errors in the page');

  // Bundled smooth and textured models (the server's description stands in for them here): the
  // page offers both, starts at the server's default, and sends the choice with the fill.
  const styled = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  styled.on('pageerror', (e) => errors.push(e.message));
  await styled.route('**/api/v1/model', async (route) => {
    const info = await (await route.fetch()).json();
    await route.fulfill({ json: { ...info, style: 'custom', styles: ['custom', 'textured'] } });
  });
  await styled.goto(address);
  await styled.waitForSelector('#style-choice:not([hidden])');
  assert.equal(await styled.inputValue('#style'), 'custom');
  await styled.setInputFiles('#open-input', path.join(fixtures, 'photo.png'));
  await styled.waitForSelector('#layer:not([hidden])');
  await drag(styled, [[0.2, 0.5], [0.8, 0.6]]);
  await styled.selectOption('#style', 'textured');
  await styled.click('#fill');
  await styled.waitForFunction(() => document.getElementById('status').textContent.includes("style 'textured'"));
  await styled.close();

  // A phone-sized window: the toolbars scroll sideways, the image takes the rest.
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
  phone.on('pageerror', (e) => errors.push(e.message));
  await phone.goto(address);
  await phone.setInputFiles('#open-input', path.join(fixtures, 'photo.png'));
  await phone.waitForSelector('#layer:not([hidden])');
  const fitted = await phone.locator('#image').boundingBox();
  assert.ok(fitted.width <= 390, `the photo fits the phone's width (${fitted.width} px)`);
  const view = await phone.locator('#viewport').boundingBox();
  assert.ok(view.height > 500, `the image area takes most of the phone's height (${view.height} px)`);
  await drag(phone, [[0.2, 0.5], [0.8, 0.6]]);
  await shot(phone, 'browser-phone.png');
  assert.deepEqual(errors, [], 'no errors in the page');
} finally {
  await browser.close();
  server.kill('SIGTERM');
}
const { code, log } = await exited;
assert.equal(code, 0, `pconv serve exits 0 on SIGTERM:\n${log}`);
console.log(`web page test passed; screenshots in ${fixtures}`);
