/**
 * The main job: the textbook's transfer-learning exercise on the bundled MNIST digits. Pretrain a DNN on
 * digits 0-4, then learn digits 5-9 from 100 images per digit six ways and print one comparison table.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { manualSeed } from '../creation';
import { noGrad } from '../autograd';
import { tidy, dispose } from '../memory';
import type { Tensor } from '../tensor';
import * as nn from '../nn';
import * as optim from '../optim';
import * as io from '../io';
import * as transfer from '../transfer';
import * as zooApi from '../zoo';
import { fit } from '../train';
import type { History } from '../train/history';
import type { ProgressStream } from '../train/progress';
import { loadDigits, DigitSet } from '../datasets';
import { plotHistory } from '../plot';
import { buildDnn } from './mnist-mlp';
import { summaryLine, VariantBar } from './variant-progress';

/** Options of the demo (the CLI maps its flags onto these). */
export interface DemoOptions {
  seed?: number;
  device?: string;
  /** Fewer epochs and images, for CI (still the whole pipeline). */
  quick?: boolean;
  /** Where the pretrained 0-4 network is saved (default a temporary folder, removed at the end unless `keep`). */
  outDir?: string;
  /** Keep the temporary folder (the pretrained 0-4 network) instead of removing it at the end. */
  keep?: boolean;
  /** Write the six variants' training curves (plotHistory) to this .svg or .html file. */
  plot?: string;
  /**
   * 0 silent; 1 (default) a header per variant, a progress bar on a terminal and one summary line each, and the table;
   * 2 also fit's per-epoch lines.
   */
  verbose?: 0 | 1 | 2;
  /** Where the progress bars go (default process.stderr; drawn only when it is a terminal). */
  progress?: ProgressStream;
  /** A zoo catalog directory: the pretrained 0-4 network is added there (`mnist-0-4`) and the transfer runs load it from the zoo. */
  zoo?: string;
  /** Images per digit to learn 5-9 from (default 100, as the textbook). */
  perDigit?: number;
  /** Where the table and log lines go (default stdout). */
  log?: (line: string) => void;
}

/** One line of the comparison table. */
export interface DemoRow {
  name: string;
  accuracy: number;
  seconds: number;
  epochs: number;
}

/** The whole demo's results. */
export interface DemoResult {
  pretrainAccuracy: number;
  pretrainEpochs: number;
  rows: DemoRow[];
  /** Where the pretrained network was saved (gone after the run when it was a temporary folder not kept). */
  checkpoint: string;
  table: string;
  /** Each variant's history, in the table's order. */
  histories: History[];
  /** The plot written, if one was asked for. */
  plot?: string;
}

interface Split {
  train: DigitSet;
  valid: DigitSet;
  test: DigitSet;
}

function split(digits: number[], trainEnd: number, validEnd: number, testEnd: number | undefined, labelOffset: number, device: string): Split {
  const take = (start: number, end?: number) => {
    const s = loadDigits({ digits, start, end, labelOffset });
    if (device === 'cpu') return s;
    const moved = { x: s.x.to(device), y: s.y.to(device) };
    dispose(s);
    return moved;
  };
  return { train: take(0, trainEnd), valid: take(trainEnd, validEnd), test: take(validEnd, testEnd) };
}

function accuracyOf(model: nn.Module, set: DigitSet): number {
  return tidy(() =>
    noGrad(() => {
      const wasTraining = model.training;
      model.eval();
      const correct = model.forward(set.x).argmax(1).eq(set.y).sum().item();
      model.train(wasTraining);
      return correct / set.y.shape[0];
    }),
  );
}

/** Formats rows as the comparison table. */
export function formatTable(rows: DemoRow[], scratchSeconds?: number): string {
  const head = ['variant', 'test accuracy', 'train time', 'epochs', 'vs scratch time'];
  const body = rows.map((r) => [
    r.name,
    `${(r.accuracy * 100).toFixed(1)}%`,
    `${r.seconds.toFixed(2)} s`,
    String(r.epochs),
    scratchSeconds ? `${(r.seconds / scratchSeconds).toFixed(2)}x` : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** What each variant is, printed as its header. */
const VARIANTS: Record<string, string> = {
  '(a) from scratch': 'a new network, every layer trained on digits 5-9',
  '(b) reused, frozen': 'hidden1-5 from the 0-4 network, frozen; a new softmax output trained',
  '(c) reused, frozen, cached': "as (b), the frozen layers' outputs computed once and cached",
  '(d) top layer dropped': 'hidden1-4 reused and frozen, a new output on hidden4',
  '(e) top two unfrozen': 'as (d), with hidden3 and hidden4 trained too',
  '(f) all fine-tuned': 'hidden1-4 reused: the new output first, then every layer (lower layers at smaller rates)',
};

/**
 * Runs the demo and returns its table; prints a header and a summary line per variant, and the table, when verbose.
 * A temporary folder it makes (no `outDir`) is removed at the end, also on failure, unless `keep`.
 */
export async function runTransferDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const tempDir = options.outDir === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'torchgraft-demo-')) : undefined;
  const bar = new VariantBar(options.progress ?? process.stderr);
  try {
    return await demo(options, tempDir ?? options.outDir!, bar);
  } finally {
    bar.clear();
    if (tempDir !== undefined && !options.keep) fs.rmSync(tempDir, { recursive: true, force: true });
  }
}

async function demo(options: DemoOptions, outDir: string, bar: VariantBar): Promise<DemoResult> {
  const seed = options.seed ?? 42;
  const device = options.device ?? 'cpu';
  const quick = options.quick ?? false;
  const verbose = options.verbose ?? 1;
  const log = options.log ?? ((s: string) => console.log(s));
  const say = (s: string) => {
    if (verbose) log(s);
  };
  const perDigit = options.perDigit ?? 100;
  const maxEpochs = quick ? 4 : 100;
  const patience = quick ? 2 : 8;
  const batchSize = 64;
  fs.mkdirSync(outDir, { recursive: true });
  // --verbose: fit's per-epoch lines, indented under the variant's header
  const epochLines: ProgressStream = { write: (chunk: string) => chunk.split('\n').filter((l) => l !== '').forEach((l) => log(`    ${l}`)) };

  manualSeed(seed);
  // digits 0-4: about 1,000 images each; 800 to train, the rest to validate (early stopping)
  const low = split([0, 1, 2, 3, 4], quick ? 200 : 800, quick ? 300 : 1200, undefined, 0, device);
  // digits 5-9: 100 to train, 50 to validate, the rest held out for the table
  const high = split([5, 6, 7, 8, 9], perDigit, perDigit + 50, quick ? perDigit + 250 : undefined, 5, device);
  const common = (validation: DigitSet) => ({
    loss: 'crossEntropy' as const,
    metrics: ['accuracy'],
    validation: [validation.x, validation.y] as [Tensor, Tensor],
    batchSize,
    seed,
    verbose: (verbose === 2 ? 2 : 0) as 0 | 2,
    output: epochLines,
    callbacks: verbose ? [bar] : [],
    earlyStopping: { monitor: 'val_loss', patience, restoreBest: true },
  });
  const summarize = (h: History, extra: string) => {
    bar.clear();
    say(summaryLine(h.epochs, h.stopped !== null, extra));
  };

  // 1. Pretrain on 0-4 and save it.
  const pretrained = buildDnn(5);
  if (device !== 'cpu') pretrained.to(device);
  say(`pretraining: a 5x100 ELU network on digits 0-4 (${low.train.y.shape[0]} images)`);
  const hist0 = await fit(pretrained, [low.train.x, low.train.y], {
    ...common(low.valid),
    epochs: quick ? 5 : 100,
    optimizer: new optim.Adam(pretrained.parameters(), { lr: 1e-3 }),
  });
  const pretrainAccuracy = accuracyOf(pretrained, low.valid);
  const checkpoint = path.join(outDir, 'mnist_0_to_4.safetensors');
  await io.save(pretrained.stateDict(), checkpoint, { metadata: { task: 'mnist digits 0-4', seed: String(seed) } });
  summarize(hist0, '');
  if (options.outDir !== undefined || options.keep) say(`  saved to ${checkpoint}`);
  let restored: Record<string, Tensor>;
  if (options.zoo !== undefined) {
    // The textbook's advice: keep a catalog of one's own models; the transfer runs take the network from it.
    const zoo = await zooApi.open(options.zoo);
    const card = await zoo.add(pretrained, {
      name: 'mnist-0-4', task: 'classification', inputShape: [784], classes: 5,
      metrics: { accuracy: pretrainAccuracy }, tags: ['mnist', 'demo'],
    });
    say(`  added to the zoo as ${card.name}@${card.version} (${zoo.dir})`);
    restored = (await zoo.load(`${card.name}@${card.version}`)).stateDict;
  } else {
    restored = await io.load(checkpoint);
  }

  const rows: DemoRow[] = [];
  const histories: History[] = [];
  const record = (name: string, model: nn.Module, h: History, seconds: number) => {
    const row = { name, accuracy: accuracyOf(model, high.test), seconds, epochs: h.epochs.length };
    rows.push(row);
    histories.push(h);
    summarize(h, ` - test accuracy ${(row.accuracy * 100).toFixed(1)}% - ${seconds.toFixed(2)} s`);
  };
  const header = (name: string) => say(`${name}: ${VARIANTS[name]}`);
  const run = async (name: string, model: nn.Module, params: Tensor[], lr = 1e-3): Promise<void> => {
    header(name);
    manualSeed(seed);
    if (device !== 'cpu') model.to(device);
    const t0 = performance.now();
    const h = await fit(model, [high.train.x, high.train.y], {
      ...common(high.valid),
      epochs: maxEpochs,
      optimizer: new optim.Adam(params, { lr }),
    });
    record(name, model, h, (performance.now() - t0) / 1000);
  };

  // (a) from scratch
  manualSeed(seed);
  const scratch = buildDnn(5);
  await run('(a) from scratch', scratch, scratch.parameters());

  // (b) reuse hidden1-5 frozen, new softmax output (partial restore of the checkpoint by name)
  manualSeed(seed);
  const frozen = buildDnn(5);
  frozen.loadStateDict(restored, { include: /^hidden[1-5]\./ });
  frozen.freeze(/^hidden[1-5]\./);
  await run('(b) reused, frozen', frozen, frozen.trainableParameters());

  // (c) the same network as (b), with the frozen layers' outputs cached once and only the head trained on them
  header('(c) reused, frozen, cached');
  manualSeed(seed);
  const stacked = transfer.reuse(pretrained, { upTo: 'act5', freeze: true, copy: true, head: { outputs: new nn.Linear(100, 5) } });
  if (device !== 'cpu') stacked.to(device);
  const t0 = performance.now();
  const cache = await transfer.cacheFeatures(stacked, [high.train.x, high.train.y], { store: device === 'cpu' ? 'memory' : 'device', verbose: 0 });
  const hc = await fit(stacked, [high.train.x, high.train.y], {
    ...common(high.valid),
    cache,
    epochs: maxEpochs,
    optimizer: new optim.Adam(stacked.trainableParameters(), { lr: 1e-3 }),
  });
  record('(c) reused, frozen, cached', stacked, hc, (performance.now() - t0) / 1000);
  cache.dispose();

  // (d) top hidden layer dropped: hidden1-4 frozen, new output on hidden4
  manualSeed(seed);
  const dropped = buildDnn(5, 4);
  dropped.loadStateDict(restored, { include: /^hidden[1-4]\./ });
  dropped.freeze(/^hidden[1-4]\./);
  await run('(d) top layer dropped', dropped, dropped.trainableParameters());

  // (e) the same, with the top two hidden layers unfrozen
  manualSeed(seed);
  const unfrozen = buildDnn(5, 4);
  unfrozen.loadStateDict(restored, { include: /^hidden[1-4]\./ });
  unfrozen.freeze(/^hidden[12]\./);
  await run('(e) top two unfrozen', unfrozen, unfrozen.trainableParameters());

  // (f) everything unfrozen and fine-tuned with discriminative learning rates
  header('(f) all fine-tuned');
  manualSeed(seed);
  const tuned = buildDnn(5, 4);
  tuned.loadStateDict(restored, { include: /^hidden[1-4]\./ });
  if (device !== 'cpu') tuned.to(device);
  const tf0 = performance.now();
  const hf = await transfer.fineTune(tuned, [high.train.x, high.train.y], {
    ...common(high.valid),
    head: /^outputs\./,
    freezeEpochs: quick ? 2 : 10,
    epochs: maxEpochs,
    baseLr: 1e-3,
    fineTuneLr: 5e-4,
    lrMult: 10,
  });
  record('(f) all fine-tuned', tuned, hf, (performance.now() - tf0) / 1000);

  const table = formatTable(rows, rows[0].seconds);
  say('');
  say(`digits 5-9 from ${perDigit} images per digit, tested on ${high.test.y.shape[0]} held-out images (seed ${seed}, ${device}):`);
  say(table);
  let plot: string | undefined;
  if (options.plot !== undefined) {
    plot = path.resolve(options.plot);
    plotHistory(rows.map((r, i) => ({ name: r.name, history: histories[i] })), { out: plot, title: `digits 5-9 from ${perDigit} images per digit, six ways (seed ${seed})`, metrics: ['loss', 'accuracy'] });
    say(`\ntraining curves of the six variants: ${plot}`);
  }
  for (const m of [pretrained, scratch, frozen, stacked, dropped, unfrozen, tuned]) m.dispose();
  dispose([low, high, restored]);
  return { pretrainAccuracy, pretrainEpochs: hist0.epochs.length, rows, checkpoint, table, histories, plot };
}
