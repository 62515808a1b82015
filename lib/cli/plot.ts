/** `torchgraft plot`: training curves from History JSON/CSV files and TensorBoard logdirs, as SVG or HTML. */
import { parseArgs } from 'node:util';

const PLOT_USAGE = `usage: torchgraft plot RUN... [--out curves.svg|curves.html] [--title TEXT] [--format svg|html]
                      [--metrics loss,accuracy]

Draws loss and metrics per epoch (one panel per metric; training solid, validation dashed), one colour per run.
A RUN is a History JSON file (JSON.stringify(history)), a History CSV (history.toCSV()), a TensorBoard run folder
written by tg.train.TensorBoard (train/, validation/), or a folder of such runs. Default output: curves.svg.`;

/** Runs `torchgraft plot` from command-line arguments; resolves with the exit code. */
export async function plotCommand(argv: string[]): Promise<number> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string', short: 'o' },
        title: { type: 'string' },
        format: { type: 'string' },
        metrics: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    console.error(`torchgraft plot: ${(e as Error).message}\n\n${PLOT_USAGE}`);
    return 1;
  }
  if (values.help) {
    console.log(PLOT_USAGE);
    return 0;
  }
  if (positionals.length === 0) {
    console.error(`torchgraft plot: name at least one history file or logdir\n\n${PLOT_USAGE}`);
    return 1;
  }
  if (values.format !== undefined && values.format !== 'svg' && values.format !== 'html') {
    console.error(`torchgraft plot: --format must be svg or html, got '${values.format}'`);
    return 1;
  }
  const out = values.out ?? (values.format === 'html' ? 'curves.html' : 'curves.svg');
  // Loaded here: plotting needs no native addon, but the library's index loads it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadRuns, plotHistory } = require('../plot') as typeof import('../plot');
  try {
    const runs = await loadRuns(positionals);
    const metrics = values.metrics?.split(',').map((m) => m.trim()).filter((m) => m !== '');
    plotHistory(runs, { out, title: values.title, format: values.format as 'svg' | 'html' | undefined, metrics });
    console.log(`wrote ${out} (${runs.length} run${runs.length === 1 ? '' : 's'}: ${runs.map((r) => r.name).join(', ')})`);
    return 0;
  } catch (e) {
    console.error(`torchgraft plot: ${(e as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  plotCommand(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
