// The README's screenshots of the page, on the bundled example with the bundled model: painting,
// and comparing after the fill, at 1280×800 and on a phone (390×844). Not a test: run by hand
// after changing the page, look at the pictures, and commit them.
//
//   node tests/web/screenshots.mjs build/release/pconv docs/images
import { spawn } from 'node:child_process';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [pconv, out] = process.argv.slice(2);
if (!pconv || !out) {
  console.error('usage: node screenshots.mjs PCONV_BINARY OUTPUT_FOLDER');
  process.exit(2);
}
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const server = spawn(pconv, ['serve', '--port', '0', '--threads', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
const port = await new Promise((resolve, reject) => {
  let log = '';
  server.stderr.on('data', (d) => {
    log += d;
    const m = log.match(/listening on http:\/\/[^/]+:(\d+)\//);
    if (m) resolve(Number(m[1]));
  });
  server.on('exit', (code) => reject(new Error(`pconv serve exited with ${code}:\n${log}`)));
});
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  for (const [name, viewport, phone] of [['desktop', { width: 1280, height: 800 }, false],
    ['phone', { width: 390, height: 844 }, true]]) {
    const page = await browser.newPage({ viewport, isMobile: phone, hasTouch: phone, deviceScaleFactor: 1 });
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => document.getElementById('model').textContent.includes('PConv'));
    await page.setInputFiles('#open-input', path.join(root, 'examples/ladybird.jpg'));
    await page.waitForSelector('#layer:not([hidden])');
    await page.click('#zoom-fit');
    await page.setInputFiles('#mask-input', path.join(root, 'examples/ladybird_mask.png'));
    await page.waitForFunction(() => !document.getElementById('fill').disabled);
    // Clicking scrolls a phone's toolbars to the button; a screenshot shows them from the start.
    const unscroll = () => page.evaluate(() => document.querySelectorAll('.toolbar').forEach((t) => { t.scrollLeft = 0; }));
    await unscroll();
    await page.screenshot({ path: path.join(out, `web-${name}-painted.jpg`), type: 'jpeg', quality: 85 });
    await page.click('#fill');
    await page.waitForFunction(() => !document.getElementById('split').hidden);
    // The divider through the ladybird (x = 449 of 640): half of it before, half after.
    const image = await page.locator('#image').boundingBox();
    await page.mouse.click(image.x + image.width * 449 / 640, image.y + image.height / 2);
    await unscroll();
    await page.screenshot({ path: path.join(out, `web-${name}-compare.jpg`), type: 'jpeg', quality: 85 });
    await page.close();
  }
} finally {
  await browser.close();
  server.kill('SIGTERM');
}
console.log(`screenshots written to ${out}`);
