/** `torchgraft demo`: the transfer-learning demo on the bundled MNIST digits (the README's main job). */
import * as path from 'node:path';
import { UsageError, parseCommand } from './args';

const DEMO_USAGE = `usage: torchgraft demo [--seed N] [--device cpu|cuda] [--quick] [--out DIR] [--per-digit N] [--zoo DIR]
                      [--plot FILE] [--keep] [--verbose]

Pretrains a 5x100 ELU network on digits 0-4, then learns digits 5-9 from 100 images per digit six ways
(from scratch, reused+frozen, cached, top layer dropped, top two unfrozen, fine-tuned) and prints a table.
Each variant prints a header, a progress bar on a terminal, and one summary line.

  --out DIR     keep the pretrained 0-4 network in DIR (default: a temporary folder, removed at the end)
  --keep        keep that temporary folder (its path is printed)
  --plot FILE   where the six variants' training curves go, .svg or .html
                (default: torchgraft-demo-curves.svg in --out DIR, else in the current folder)
  --verbose     also print every epoch's line under its variant
  --zoo DIR     store the 0-4 network in that model zoo; the transfer runs take it from there`;

/** Runs the demo from command-line arguments; resolves with the exit code. */
export async function demoCommand(argv: string[]): Promise<number> {
  const synopsis = DEMO_USAGE.split('\n').slice(0, 2).join('\n');
  const { values, positionals } = parseCommand('demo', argv, {
    seed: { type: 'string' },
    device: { type: 'string' },
    quick: { type: 'boolean' },
    out: { type: 'string' },
    'per-digit': { type: 'string' },
    zoo: { type: 'string' },
    plot: { type: 'string' },
    keep: { type: 'boolean' },
    verbose: { type: 'boolean', short: 'v' },
  }, synopsis);
  if (positionals.length) throw new UsageError('demo', `unexpected argument '${positionals[0]}'`, synopsis);
  if (values.help) {
    console.log(DEMO_USAGE);
    return 0;
  }
  const seed = values.seed === undefined ? 42 : Number(values.seed);
  const perDigit = values['per-digit'] === undefined ? 100 : Number(values['per-digit']);
  if (!Number.isInteger(seed) || !Number.isInteger(perDigit) || perDigit < 1 || perDigit > 800) {
    throw new UsageError('demo', '--seed must be an integer and --per-digit an integer in 1..800', synopsis);
  }
  // Loaded here so `torchgraft help` works without the native addon.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runTransferDemo } = require('../demo/transfer-demo') as typeof import('../demo/transfer-demo');
  const started = performance.now();
  const plot = values.plot ?? path.join(values.out ?? '.', 'torchgraft-demo-curves.svg');
  await runTransferDemo({
    seed, device: values.device ?? 'cpu', quick: values.quick ?? false, outDir: values.out, perDigit, zoo: values.zoo,
    plot, keep: values.keep ?? false, verbose: values.verbose ? 2 : 1,
  });
  console.log(`\ndemo finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}
