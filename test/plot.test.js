'use strict';
// tg.train.plotHistory and `torchgraft plot`: SVG/HTML training curves, rasterized by sharp (librsvg) and by headless Chromium.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const sharp = require('sharp');
const tg = require('..');
// tg.train once lib/index.ts exports the namespace (export * as train from './train')
const tgTrain = require('../dist/train');
const { PALETTE } = require('../dist/plot/svg');
const { TinyLinear, separable } = require('./helpers/tiny');

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tg-plot-'));
const PLOT_CLI = path.join(__dirname, '..', 'dist', 'cli', 'plot.js');
const plotCli = (...args) => spawnSync(process.execPath, [PLOT_CLI, ...args], { encoding: 'utf8' });

// Six made-up runs shaped like the demo's: loss falling, accuracy rising, validation a little worse.
function sixRuns() {
  const names = ['(a) scratch', '(b) frozen', '(c) cached', '(d) dropped', '(e) unfrozen', '(f) tuned <&>'];
  return names.map((name, r) => ({
    name,
    history: {
      epochs: Array.from({ length: 6 + 3 * r }, (_, i) => ({
        epoch: i, loss: 2 * Math.exp(-i / (2 + r)) + 0.1, accuracy: 1 - 0.9 * Math.exp(-i / (2 + r)),
        val_loss: 2 * Math.exp(-i / (2 + r)) + 0.3, val_accuracy: 0.9 - 0.8 * Math.exp(-i / (2 + r)), time: 0.5,
      })),
    },
  }));
}

const hex = (c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));

/** Counts, for each colour, the pixels within `tol` of it per channel; and the pixels that are not near-white. */
async function pixelStats(png, colours, tol) {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const counts = colours.map(() => 0);
  let ink = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    if (r < 240 || g < 240 || b < 240) ink++;
    colours.forEach((c, k) => {
      const [cr, cg, cb] = hex(c);
      if (Math.abs(r - cr) <= tol && Math.abs(g - cg) <= tol && Math.abs(b - cb) <= tol) counts[k]++;
    });
  }
  return { counts, ink, pixels: info.width * info.height, width: info.width, height: info.height };
}

test('plotHistory draws one panel per metric, a train and a validation line per run, and a legend naming the runs', () => {
  const svg = tgTrain.plotHistory(sixRuns(), { title: 'six ways' });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="920"/);
  assert.deepStrictEqual([...svg.matchAll(/data-metric="([^"]+)"/g)].map((m) => m[1]), ['loss', 'accuracy']);
  assert.strictEqual((svg.match(/data-split="train"/g) || []).length, 12);
  assert.strictEqual((svg.match(/data-split="validation"/g) || []).length, 12);
  assert.match(svg, /\(f\) tuned &lt;&amp;&gt;/, 'names are escaped');
  assert.match(svg, />six ways</);
  assert.match(svg, />epoch</);
  // a History instance plots as its JSON does
  const h = new tgTrain.History();
  h.push({ epoch: 0, loss: 1, time: 0 });
  h.push({ epoch: 1, loss: 0.5, time: 0 });
  assert.strictEqual(tgTrain.plotHistory([{ name: 'h', history: h }]), tgTrain.plotHistory([{ name: 'h', history: h.toJSON() }]));
  const one = tgTrain.plotHistory(sixRuns(), { metrics: ['accuracy'] });
  assert.deepStrictEqual([...one.matchAll(/data-metric="([^"]+)"/g)].map((m) => m[1]), ['accuracy']);
  assert.throws(() => tgTrain.plotHistory(sixRuns(), { metrics: ['phase'] }), /no run logs phase \(they log loss, accuracy\)/);
  assert.throws(() => tgTrain.plotHistory([]), TypeError);
  assert.throws(() => tgTrain.plotHistory([{ name: 'x', history: 3 }]), TypeError);
  assert.throws(() => tgTrain.plotHistory([{ name: 'x', history: [{ epoch: 0, time: 1 }] }]), RangeError);
  assert.throws(() => tgTrain.plotHistory(sixRuns(), { format: 'png' }), TypeError);
  assert.throws(() => tgTrain.plotHistory(sixRuns(), { out: path.join(tmp(), 'no', 'such', 'dir', 'c.svg') }), (e) => e.code === 'ERR_IO');
});

test('the SVG rasterized by sharp (librsvg) shows every run colour and is not blank', async () => {
  const svg = tgTrain.plotHistory(sixRuns());
  const png = await sharp(Buffer.from(svg)).png().toBuffer();
  const s = await pixelStats(png, PALETTE.slice(0, 6), 0);
  s.counts.forEach((n, k) => assert.ok(n > 100, `colour ${PALETTE[k]} of run ${k} drawn (${n} pixels)`));
  assert.ok(s.ink / s.pixels > 0.02 && s.ink / s.pixels < 0.5, `ink ${s.ink} of ${s.pixels}`);
});

test('the HTML page rendered by headless Chromium shows every run colour (apt package: chromium)', async (t) => {
  const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
  if (!chromium) return t.skip('chromium is not installed (Debian package: chromium)');
  const dir = tmp();
  const page = path.join(dir, 'curves.html');
  tgTrain.plotHistory(sixRuns(), { out: page, title: 'six ways' });
  assert.match(fs.readFileSync(page, 'utf8'), /^<!doctype html>[\s\S]*<svg[\s\S]*<\/svg>\n<\/body><\/html>\n$/);
  const shot = path.join(dir, 'shot.png');
  const r = spawnSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--screenshot=${shot}`, '--window-size=960,520', `file://${page}`], { encoding: 'utf8', timeout: 120000 });
  assert.ok(fs.existsSync(shot), `chromium wrote no screenshot: ${r.stderr}`);
  const s = await pixelStats(shot, PALETTE.slice(0, 6), 6);
  s.counts.forEach((n, k) => assert.ok(n > 50, `colour ${PALETTE[k]} of run ${k} on screen (${n} pixels)`));
  assert.ok(s.ink / s.pixels > 0.02, `not blank: ${s.ink} of ${s.pixels} pixels drawn`);
});

test('torchgraft plot reads History JSON, CSV and a TensorBoard logdir, overlays them, and reports bad input', async () => {
  const dir = tmp();
  const [x, y] = separable(24, 2);
  const net = new TinyLinear(2, 2);
  const logDir = path.join(dir, 'runs', 'tb-run');
  const h = await tg.fit(net, [x, y], {
    verbose: 0, epochs: 3, batchSize: 8, optimizer: new tg.optim.SGD(net.parameters(), { lr: 0.1 }), loss: 'crossEntropy',
    metrics: ['accuracy'], validation: [x, y], callbacks: [new tgTrain.TensorBoard({ logDir })],
  });
  fs.writeFileSync(path.join(dir, 'json-run.json'), JSON.stringify(h));
  fs.writeFileSync(path.join(dir, 'csv-run.csv'), h.toCSV());

  const runs = await tgTrain.loadRuns([path.join(dir, 'json-run.json'), path.join(dir, 'csv-run.csv'), logDir, path.join(dir, 'runs')]);
  assert.deepStrictEqual(runs.map((r) => r.name), ['json-run', 'csv-run', 'tb-run', 'runs/tb-run']);
  const f32 = (v) => Math.fround(v);
  assert.deepStrictEqual(runs[2].history.map((e) => [e.epoch, e.loss, e.val_accuracy]), h.epochs.map((e) => [e.epoch, f32(e.loss), f32(e.val_accuracy)]));
  assert.deepStrictEqual(runs[1].history.map((e) => e.val_loss), h.epochs.map((e) => e.val_loss));

  const out = path.join(dir, 'curves.html');
  const r = plotCli(path.join(dir, 'json-run.json'), path.join(dir, 'csv-run.csv'), logDir, '--out', out, '--title', 'three readers');
  const lossOnly = path.join(dir, 'loss.svg');
  assert.strictEqual(plotCli(logDir, '--metrics', 'loss', '-o', lossOnly).status, 0);
  assert.deepStrictEqual([...fs.readFileSync(lossOnly, 'utf8').matchAll(/data-metric="([^"]+)"/g)].map((m) => m[1]), ['loss']);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*curves\.html \(3 runs: json-run, csv-run, tb-run\)/);
  const html = fs.readFileSync(out, 'utf8');
  assert.match(html, /<!doctype html>/);
  assert.strictEqual((html.match(/data-split="validation"/g) || []).length, 6, 'loss and accuracy panels, three runs each');

  fs.writeFileSync(path.join(dir, 'bad.json'), '{"epochs": 3}');
  const bad = plotCli(path.join(dir, 'bad.json'));
  assert.strictEqual(bad.status, 1);
  assert.match(bad.stderr, /bad\.json: not a training history/);
  const missing = plotCli(path.join(dir, 'nope.json'));
  assert.strictEqual(missing.status, 1);
  assert.match(missing.stderr, /cannot read .*nope\.json/);
  await assert.rejects(tgTrain.loadRuns([dir + '/bad.json']), (e) => e.code === 'ERR_HISTORY_FORMAT');
  assert.strictEqual(plotCli().status, 2, 'no run named: a usage error');
  assert.match(plotCli('--help').stdout, /usage: torchgraft plot RUN/);
  assert.strictEqual(plotCli('--bogus').status, 2);
  tg.dispose([x, y]);
  net.dispose();
});

test('torchgraft plot draws findLr sweeps on a log-rate axis with the suggestion marked, and refuses mixing them with histories', async () => {
  const dir = tmp();
  const [x, y] = separable(64, 2);
  const net = new TinyLinear(2, 2);
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const found = await tgTrain.findLr(net, [x, y], { optimizer: opt, loss: 'crossEntropy', batchSize: 8, steps: 30, startLr: 1e-5, endLr: 1 });
  const file = path.join(dir, 'sweep.json');
  fs.writeFileSync(file, JSON.stringify(found));
  const out = path.join(dir, 'lr.svg');
  const r = plotCli(file, '-o', out);
  assert.strictEqual(r.status, 0, r.stderr);
  const svg = fs.readFileSync(out, 'utf8');
  // one point per recorded loss, the x axis labelled in powers of ten from 1e-5 to 1e0
  const d = svg.match(/<path d="([^"]+)"[^>]*data-run="0"/)[1];
  assert.strictEqual(d.split(/[ML]/).filter(Boolean).length, found.losses.filter(Number.isFinite).length);
  for (const p of ['1e-5', '1e-3', '1e0']) assert.ok(svg.includes(`>${p}</text>`), `tick ${p}`);
  assert.match(svg, /learning rate \(log scale\)/);
  if (found.suggestion) {
    const x0 = 70;
    const w = 640 - 70 - 24;
    const want = x0 + ((Math.log10(found.suggestion) + 5) / 5) * w;
    const got = Number(svg.match(/data-suggestion="[^"]+"/) && svg.match(/<line x1="([^"]+)"[^>]*data-suggestion/)[1]);
    assert.ok(Math.abs(got - want) < 0.1, `suggestion line at x=${got}, expected ${want.toFixed(1)}`);
  }
  // the result object itself (its suggestion is a getter) draws the same marker
  const direct = tgTrain.plotHistory([{ name: 'sweep', lrFinder: found }]);
  assert.strictEqual(direct.includes('data-suggestion='), Boolean(found.suggestion));
  const png = await sharp(Buffer.from(svg)).png().toBuffer();
  assert.ok(png.length > 1000);
  fs.writeFileSync(path.join(dir, 'history.json'), JSON.stringify({ epochs: [{ epoch: 0, loss: 1 }] }));
  const mixed = plotCli(file, path.join(dir, 'history.json'), '-o', out);
  assert.strictEqual(mixed.status, 1);
  assert.match(mixed.stderr, /cannot share a plot/);
  fs.writeFileSync(path.join(dir, 'broken.json'), JSON.stringify({ kind: 'lr-finder', lrs: [1, 2], losses: [1] }));
  assert.match(plotCli(path.join(dir, 'broken.json')).stderr, /lrs and losses, two arrays of numbers of one length/);
  tg.dispose([x, y]);
  net.dispose();
  opt.dispose();
});
