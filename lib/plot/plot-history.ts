/** plotHistory: training curves of one or more runs as SVG (or an HTML page holding it), optionally written to a file. */
import { renderLrCurves, type LrCurve } from './lr-curve';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchError } from '../errors';
import { htmlPage, renderSvg } from './svg';
import type { PlotRun } from './runs';

/** Options of plotHistory. */
export interface PlotOptions {
  /** A file to write (atomically: a temporary beside it, then renamed). */
  out?: string;
  /** 'svg' or 'html' (default: from out's extension, else 'svg'). */
  format?: 'svg' | 'html';
  /** A title above the panels. */
  title?: string;
  /** The metrics to draw, one panel each (default: every key the runs log, loss first; `val_x` joins panel `x`). */
  metrics?: string[];
}

/**
 * Draws loss and metrics per epoch, one panel per metric, each run in its own colour, training solid and
 * validation (`val_*`) dashed, with a legend naming the runs.
 * @example
 * const h = await tg.fit(net, data, { ...options, validation });
 * tg.train.plotHistory([{ name: 'scratch', history: h }], { out: 'curves.svg' });
 * @returns the SVG markup (the file holds it, or an HTML page around it).
 * @throws TypeError/RangeError on bad runs or options; TorchError `ERR_IO` when the file cannot be written.
 */
export function plotHistory(runs: readonly PlotRun[], options: PlotOptions = {}): string {
  if (options === null || typeof options !== 'object') throw new TypeError('plotHistory: options must be an object');
  const { out, title } = options;
  if (out !== undefined && (typeof out !== 'string' || out === '')) throw new TypeError('plotHistory: out must be a file path');
  const format = options.format ?? (out && /\.html?$/i.test(out) ? 'html' : 'svg');
  if (format !== 'svg' && format !== 'html') throw new TypeError(`plotHistory: format must be 'svg' or 'html', got ${String(format)}`);
  const sweeps = Array.isArray(runs) ? runs.filter((r) => r !== null && typeof r === 'object' && 'lrFinder' in r) : [];
  if (sweeps.length && sweeps.length !== runs.length) throw new RangeError('plotHistory: learning-rate finder sweeps and training histories cannot share a plot (their x axes differ)');
  const svg = sweeps.length
    ? renderLrCurves(sweeps.map((r) => {
      // read field by field: a findLr result's suggestion is a getter, which a spread would miss
      const f = (r as { lrFinder: Omit<LrCurve, 'name'> }).lrFinder;
      return { name: r.name, lrs: f.lrs, losses: f.losses, suggestion: f.suggestion };
    }), title)
    : renderSvg(runs, title, options.metrics);
  if (out !== undefined) {
    const tmp = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.tmp`);
    try {
      fs.writeFileSync(tmp, format === 'html' ? htmlPage(svg, title) : svg);
      fs.renameSync(tmp, out);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw new TorchError(`plotHistory: cannot write '${out}': ${(e as Error).message}`, { code: 'ERR_IO', cause: e });
    }
  }
  return svg;
}
