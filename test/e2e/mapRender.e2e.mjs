// The map's frame rate with 100,000 points in the e2e browser (Debian's chromium, no GPU): the
// standalone page that `nearby map --out` writes, panned and zoomed continuously for a few seconds.
// The points are a real map's (Nearby's own sources, laid out by the CLI), each repeated with a
// little jitter up to 100,000: drawing costs the same per point wherever it lies. With
// NEARBY_BIG_MAP set to a page `npm run bench:map -- --big <folder>` wrote, that page is measured
// instead as it is (a real 100k-point layout).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { PROJECT } from './codeServer.mjs';
import { launchBrowser } from './workbench.mjs';

const POINTS = 100_000;
const SECONDS = 4;
let dir, browser, page;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'nearby-map-fps-'));
  ({ browser, page } = await launchBrowser());
});
after(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A standalone map page of POINTS points: the real map of Nearby's sources, repeated with jitter. */
function tiledPage() {
  const root = path.join(dir, 'src');
  cpSync(path.join(PROJECT, 'src'), root, { recursive: true });
  const file = path.join(dir, 'map.html');
  execFileSync(process.execPath, [path.join(PROJECT, 'dist', 'cli.js'), 'map', '--root', root, '--index-dir', path.join(dir, 'index'), '--out', file], { stdio: 'pipe' });
  const html = readFileSync(file, 'utf8');
  const open = '<script type="application/json" id="map-data">';
  const from = html.indexOf(open) + open.length;
  const to = html.indexOf('</script>', from);
  const map = JSON.parse(html.slice(from, to));
  const n = map.points.x.length;
  let state = 7;
  const jitter = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.02;
  const clamp = (v) => Math.min(1, Math.max(0, v));
  const p = map.points;
  for (let i = n; i < POINTS; i++) {
    const j = i % n;
    for (const key of ['file', 'start', 'end', 'doc', 'region', 'symbol']) p[key].push(p[key][j]);
    p.x.push(clamp(p.x[j] + jitter()));
    p.y.push(clamp(p.y[j] + jitter()));
  }
  map.shown = map.total = POINTS;
  writeFileSync(file, html.slice(0, from) + JSON.stringify(map).replace(/</g, '\\u003c') + html.slice(to));
  return file;
}

test(`the map pans and zooms ${POINTS.toLocaleString('en-US')} points at 30 frames a second or more`, { timeout: 300_000 }, async () => {
  const file = process.env.NEARBY_BIG_MAP ?? tiledPage();
  await page.goto(`file://${file}`);
  await page.locator('#status', { hasText: 'chunks in' }).waitFor({ timeout: 60_000 });
  const shown = await page.evaluate(() => document.getElementById('status').textContent);
  // Input on every animation frame, as a hand on a trackpad gives, dispatched to the canvas so that
  // it goes through the map's own wheel and pointer handlers: zoom in and out, then drag about.
  const after = await page.evaluate((seconds) => new Promise((resolve) => {
    const canvas = document.querySelector('#map canvas');
    const box = canvas.getBoundingClientRect();
    const cx = box.left + box.width / 2;
    const cy = box.top + box.height / 2;
    const stats = window.nearbyMapStats;
    const start = { frames: stats.frames, at: performance.now() };
    let i = 0;
    const tick = () => {
      const phase = i % 60;
      if (phase < 30) canvas.dispatchEvent(new WheelEvent('wheel', { deltaY: phase < 15 ? -40 : 40, clientX: cx, clientY: cy, bubbles: true, cancelable: true }));
      else {
        const x = cx + Math.cos(i / 5) * 80;
        const y = cy + Math.sin(i / 5) * 50;
        if (phase === 30) canvas.dispatchEvent(new PointerEvent('pointerdown', { clientX: x, clientY: y, pointerId: 1, bubbles: true }));
        canvas.dispatchEvent(new PointerEvent('pointermove', { clientX: x + 5, clientY: y + 5, pointerId: 1, bubbles: true }));
        if (phase === 59) canvas.dispatchEvent(new PointerEvent('pointerup', { clientX: x, clientY: y, pointerId: 1, bubbles: true }));
      }
      i++;
      if (performance.now() - start.at < seconds * 1000) requestAnimationFrame(tick);
      else requestAnimationFrame(() => resolve({ frames: stats.frames - start.frames, ms: performance.now() - start.at, inputs: i, drawMs: stats.drawMs.slice(-200) }));
    };
    requestAnimationFrame(tick);
  }), SECONDS);
  const fps = (after.frames * 1000) / after.ms;
  const sorted = [...after.drawMs].sort((a, b) => a - b);
  const medianDraw = sorted[Math.floor(sorted.length / 2)];
  const p95Draw = sorted[Math.floor(sorted.length * 0.95)];
  console.log(`map frame rate: ${fps.toFixed(1)} frames/s over ${(after.ms / 1000).toFixed(1)} s of panning and zooming (${after.inputs} inputs); draw median ${medianDraw.toFixed(1)} ms, p95 ${p95Draw.toFixed(1)} ms; ${shown}`);
  await page.screenshot({ path: path.join(PROJECT, 'test-results', 'map-100k.png') });
  assert.ok(fps >= 30, `${fps.toFixed(1)} frames/s`);
});
