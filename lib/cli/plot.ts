/** `torchgraft plot`: training curves from History JSON/CSV files and TensorBoard logdirs, as SVG or HTML. */
import { UsageError, parseCommand, usageErrorText } from './args';

const PLOT_USAGE = `usage: torchgraft plot RUN... [--out curves.svg|curves.html] [--title TEXT] [--format svg|html]
                      [--metrics loss,accuracy]

Draws loss and metrics per epoch (one panel per metric; training solid, validation dashed), one colour per run.
A RUN is a History JSON file (JSON.stringify(history)), a History CSV (history.toCSV()), a TensorBoard run folder
written by tg.train.TensorBoard (train/, validation/), or a folder of such runs. A findLr result's JSON
(JSON.stringify(await tg.train.findLr(...))) draws the smoothed loss against the learning rate on a log axis, with
the suggested rate marked; several overlay. Default output: curves.svg.`;

/** Runs `torchgraft plot` from command-line arguments; resolves with the exit code. */
export async function plotCommand(argv: string[]): Promise<number> {
  const synopsis = PLOT_USAGE.split('\n').slice(0, 2).join('\n');
  const { values, positionals } = parseCommand('plot', argv, {
    out: { type: 'string', short: 'o' },
    title: { type: 'string' },
    format: { type: 'string' },
    metrics: { type: 'string' },
  }, synopsis);
  if (values.help) {
    console.log(PLOT_USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('plot', 'name at least one history file or logdir', synopsis);
  if (values.format !== undefined && values.format !== 'svg' && values.format !== 'html') throw new UsageError('plot', `--format must be svg or html, got '${values.format}'`, synopsis);
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
  plotCommand(process.argv.slice(2)).then(
    (code) => void (process.exitCode = code),
    (e: unknown) => {
      console.error(e instanceof UsageError ? usageErrorText(e) : String(e));
      process.exitCode = e instanceof UsageError ? 2 : 1;
    },
  );
}
