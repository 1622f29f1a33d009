// The web page end to end in a real browser: Debian's headless Chromium, driven by Playwright.
// Starts `pconv serve` on a free port, opens the fixture photo, paints a stroke with the mouse,
// fills it, and checks the result: changed inside the stroke, bit-identical outside it.
// Then the keyboard, a pen, a mask file filled at the best quality (the server's debug log counts
// the passes), and the download. Saves screenshots next to the fixtures.
//
//   node tests/web/fill.test.mjs PCONV_BINARY FIXTURE_FOLDER
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
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

// Pixel statistics of the result against the input, split by the page's own mask.
async function compareInPage(page) {
  return page.evaluate(async () => {
    const pixels = async (url) => {
      const bitmap = await createImageBitmap(await (await fetch(url)).blob());
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const c = canvas.getContext('2d');
      c.drawImage(bitmap, 0, 0);
      return { data: c.getImageData(0, 0, bitmap.width, bitmap.height).data, width: bitmap.width, height: bitmap.height };
    };
    const before = await pixels(document.getElementById('before').src);
    const after = await pixels(document.getElementById('download').href);
    const m = document.getElementById('mask');
    const mask = m.getContext('2d').getImageData(0, 0, m.width, m.height).data;
    const s = { width: after.width, height: after.height, inside: 0, insideChanged: 0, outside: 0, outsideChanged: 0 };
    for (let i = 0; i < mask.length; i += 4) {
      const changed = [0, 1, 2].some((k) => before.data[i + k] !== after.data[i + k]);
      if (mask[i + 3] === 255) { s.inside++; if (changed) s.insideChanged++; }
      if (mask[i + 3] === 0) { s.outside++; if (changed) s.outsideChanged++; }
    }
    return s;
  });
}

async function fillAndCheck(page, what, size = [320, 240]) {
  const previous = await page.getAttribute('#download', 'href');
  await page.click('#fill');
  await page.waitForFunction((old) => {
    const img = document.getElementById('after');
    return !img.hidden && img.src !== old && img.complete && img.naturalWidth > 0;
  }, previous);
  const s = await compareInPage(page);
  console.log(`${what}: ${JSON.stringify(s)}`);
  assert.deepEqual([s.width, s.height], size, 'the result has the photo\'s full size');
  assert.ok(s.inside > 500, `${what}: the mask holds a hole`);
  assert.ok(s.insideChanged > 0.5 * s.inside, `${what}: most hole pixels were filled`);
  assert.equal(s.outsideChanged, 0, `${what}: every pixel outside the hole is unchanged`);
}

const { server, port, exited, serverLog } = startServer();
const browser = await chromium.launch({
  executablePath: browserPath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const errors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 }, acceptDownloads: true });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`http://127.0.0.1:${await port}/`);
  await page.waitForFunction(() => document.getElementById('model').textContent.includes('PConv U-Net'));
  assert.equal(await page.inputValue('#quality'), 'fast', 'the quality switch starts at the server\'s setting');

  // Open the photo and paint one stroke with the mouse.
  await page.setInputFiles('#open-input', path.join(fixtures, 'photo.png'));
  await page.waitForSelector('#stage:not([hidden])');
  assert.ok(await page.isDisabled('#fill'), 'nothing to fill before painting');
  const box = await page.locator('#mask').boundingBox();
  await page.mouse.move(box.x + box.width * 0.15, box.y + box.height * 0.55);
  await page.mouse.down();
  for (let i = 1; i <= 12; i++) await page.mouse.move(box.x + box.width * (0.15 + 0.04 * i), box.y + box.height * (0.55 + 0.01 * i));
  await page.mouse.up();
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

  await fillAndCheck(page, 'mouse stroke');
  await page.screenshot({ path: path.join(fixtures, 'browser-result.png'), fullPage: true });

  // Download the result as PNG.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.equal(download.suggestedFilename(), 'photo-filled.png');
  const saved = path.join(fixtures, 'browser-download.png');
  await download.saveAs(saved);
  assert.ok(statSync(saved).size > 1000);

  // A pen stroke after clearing, with the eraser key checked on the way.
  await page.click('#edit');
  await page.click('#clear');
  assert.ok(await page.isDisabled('#fill'), 'clear removed the hole');
  await page.keyboard.press('e');
  assert.ok(await page.isChecked('input[value=eraser]'));
  await page.keyboard.press('b');
  const pen = { pointerType: 'pen', pointerId: 7, isPrimary: true, button: 0, buttons: 1 };
  const at = (fx, fy) => ({ ...pen, clientX: box.x + box.width * fx, clientY: box.y + box.height * fy });
  await page.dispatchEvent('#mask', 'pointerdown', at(0.3, 0.2));
  for (let i = 1; i <= 6; i++) await page.dispatchEvent('#mask', 'pointermove', at(0.3 + 0.05 * i, 0.2));
  await page.dispatchEvent('#mask', 'pointerup', at(0.6, 0.2));
  await fillAndCheck(page, 'pen stroke');

  // A mask file instead of painting.
  await page.click('#edit');
  await page.click('#clear');
  await page.setInputFiles('#mask-input', path.join(fixtures, 'mask.png'));
  await page.waitForFunction(() => !document.getElementById('fill').disabled);
  // ... filled at the best quality: the request says so.
  await page.selectOption('#quality', 'best');
  assert.doesNotMatch(serverLog(), /network pass [0-9.]+ ms \(8x\)/);
  await fillAndCheck(page, 'mask file');
  assert.match(serverLog(), /network pass [0-9.]+ ms \(8x\)/, 'the server ran eight passes');
  await page.screenshot({ path: path.join(fixtures, 'browser-mask-file.png'), fullPage: true });

  // A large photo is shown scaled to the window but painted, sent and filled at full size.
  await page.click('#edit');
  await page.setInputFiles('#open-input', path.join(fixtures, 'large.png'));
  await page.waitForFunction(() => document.getElementById('mask').width === 2400);
  const large = await page.locator('#mask').boundingBox();
  assert.ok(large.width < 1100, `shown at ${large.width} px wide`);
  await page.mouse.move(large.x + large.width * 0.3, large.y + large.height * 0.4);
  await page.mouse.down();
  await page.mouse.move(large.x + large.width * 0.7, large.y + large.height * 0.6, { steps: 10 });
  await page.mouse.up();
  await fillAndCheck(page, 'large photo', [2400, 1600]);

  assert.deepEqual(errors, [], 'no errors in the page');
} finally {
  await browser.close();
  server.kill('SIGTERM');
}
const { code, log } = await exited;
assert.equal(code, 0, `pconv serve exits 0 on SIGTERM:\n${log}`);
console.log(`web page test passed; screenshots in ${fixtures}`);
