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
import { loadDigits, DigitSet } from '../datasets';
import { buildDnn } from './mnist-mlp';

/** Options of the demo (the CLI maps its flags onto these). */
export interface DemoOptions {
  seed?: number;
  device?: string;
  /** Fewer epochs and images, for CI (still the whole pipeline). */
  quick?: boolean;
  /** Where the pretrained 0-4 network is saved (default a temporary folder). */
  outDir?: string;
  /** 0 silent, 1 progress bars on a terminal and the table. */
  verbose?: 0 | 1;
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
  checkpoint: string;
  table: string;
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

/** Runs the demo and returns its table; prints progress and the table when verbose. */
export async function runTransferDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const seed = options.seed ?? 42;
  const device = options.device ?? 'cpu';
  const quick = options.quick ?? false;
  const verbose = options.verbose ?? 1;
  const log = options.log ?? ((s: string) => console.log(s));
  const perDigit = options.perDigit ?? 100;
  const fitVerbose = verbose ? 1 : 0;
  const maxEpochs = quick ? 4 : 100;
  const patience = quick ? 2 : 8;
  const batchSize = 64;
  const outDir = options.outDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'torchgraft-demo-'));
  fs.mkdirSync(outDir, { recursive: true });

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
    verbose: fitVerbose as 0 | 1,
    earlyStopping: { monitor: 'val_loss', patience, restoreBest: true },
  });

  // 1. Pretrain on 0-4 and save it.
  const pretrained = buildDnn(5);
  if (device !== 'cpu') pretrained.to(device);
  if (verbose) log(`pretraining a 5x100 ELU network on digits 0-4 (${low.train.y.shape[0]} images) ...`);
  const hist0 = await fit(pretrained, [low.train.x, low.train.y], {
    ...common(low.valid),
    epochs: quick ? 5 : 100,
    optimizer: new optim.Adam(pretrained.parameters(), { lr: 1e-3 }),
  });
  const pretrainAccuracy = accuracyOf(pretrained, low.valid);
  const checkpoint = path.join(outDir, 'mnist_0_to_4.safetensors');
  await io.save(pretrained.stateDict(), checkpoint, { metadata: { task: 'mnist digits 0-4', seed: String(seed) } });
  if (verbose) log(`  0-4 validation accuracy ${(pretrainAccuracy * 100).toFixed(1)}%, saved to ${checkpoint}`);
  let restored: Record<string, Tensor>;
  if (options.zoo !== undefined) {
    // The textbook's advice: keep a catalog of one's own models; the transfer runs take the network from it.
    const zoo = await zooApi.open(options.zoo);
    const card = await zoo.add(pretrained, {
      name: 'mnist-0-4', task: 'classification', inputShape: [784], classes: 5,
      metrics: { accuracy: pretrainAccuracy }, tags: ['mnist', 'demo'],
    });
    if (verbose) log(`  added to the zoo as ${card.name}@${card.version} (${zoo.dir})`);
    restored = (await zoo.load(`${card.name}@${card.version}`)).stateDict;
  } else {
    restored = await io.load(checkpoint);
  }

  const rows: DemoRow[] = [];
  const run = async (name: string, model: nn.Module, params: Tensor[], lr = 1e-3): Promise<void> => {
    manualSeed(seed);
    if (device !== 'cpu') model.to(device);
    const t0 = performance.now();
    const h = await fit(model, [high.train.x, high.train.y], {
      ...common(high.valid),
      epochs: maxEpochs,
      optimizer: new optim.Adam(params, { lr }),
    });
    rows.push({ name, accuracy: accuracyOf(model, high.test), seconds: (performance.now() - t0) / 1000, epochs: h.epochs.length });
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
  const cachedSeconds = (performance.now() - t0) / 1000;
  rows.push({ name: '(c) reused, frozen, cached', accuracy: accuracyOf(stacked, high.test), seconds: cachedSeconds, epochs: hc.epochs.length });
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
  rows.push({ name: '(f) all fine-tuned', accuracy: accuracyOf(tuned, high.test), seconds: (performance.now() - tf0) / 1000, epochs: hf.epochs.length });

  const table = formatTable(rows, rows[0].seconds);
  if (verbose) {
    log('');
    log(`digits 5-9 from ${perDigit} images per digit, tested on ${high.test.y.shape[0]} held-out images (seed ${seed}, ${device}):`);
    log(table);
  }
  for (const m of [pretrained, scratch, frozen, stacked, dropped, unfrozen, tuned]) m.dispose();
  dispose([low, high, restored]);
  return { pretrainAccuracy, pretrainEpochs: hist0.epochs.length, rows, checkpoint, table };
}

