/** Renders training curves as SVG: one panel per metric, runs in colours, training solid and validation dashed. */
import type { EpochLogs } from '../train/types';
import { niceTicks, tickLabel } from './ticks';
import { epochsOf, metricNames, type PlotRun } from './runs';

/** Ten distinct colours (Tableau 10), one per run, reused after ten. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const PANEL_W = 460;
const PANEL_H = 300;
const M = { left: 62, right: 18, top: 34, bottom: 46 };
const FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"';
const CHAR_W = 7; // about the width of a 12 px sans-serif character, to lay out the legend

/** Escapes text for SVG. */
export function xml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

type Series = { run: number; val: boolean; points: [number, number | undefined][] };

function seriesOf(epochs: readonly Partial<EpochLogs>[], key: string): [number, number | undefined][] {
  return epochs.map((e, i) => {
    const v = e[key];
    // epochs count from 1 on the axis, as progress lines do
    return [(typeof e.epoch === 'number' ? e.epoch : i) + 1, typeof v === 'number' && Number.isFinite(v) ? v : undefined];
  });
}

function panel(metric: string, series: Series[], x0: number, y0: number, xMax: number): string {
  const w = PANEL_W - M.left - M.right;
  const h = PANEL_H - M.top - M.bottom;
  const ys = series.flatMap((s) => s.points.map((p) => p[1]).filter((v): v is number => v !== undefined));
  const yt = niceTicks(Math.min(...ys), Math.max(...ys), 5);
  const xt = niceTicks(1, Math.max(2, xMax), Math.min(8, Math.max(1, xMax - 1)), true);
  const [ya, yb] = [yt[0], yt[yt.length - 1]];
  const [xa, xb] = [xt[0], xt[xt.length - 1]];
  const px = (x: number) => x0 + M.left + ((x - xa) / (xb - xa)) * w;
  const py = (y: number) => y0 + M.top + h - ((y - ya) / (yb - ya)) * h;
  const out: string[] = [`<g class="panel" data-metric="${xml(metric)}">`];
  out.push(`<rect x="${x0 + M.left}" y="${y0 + M.top}" width="${w}" height="${h}" fill="#ffffff" stroke="#444444" stroke-width="1"/>`);
  for (const t of yt) {
    const y = py(t).toFixed(1);
    out.push(`<line x1="${x0 + M.left}" x2="${x0 + M.left + w}" y1="${y}" y2="${y}" stroke="#e4e4e4" stroke-width="1"/>`);
    out.push(`<line x1="${x0 + M.left - 5}" x2="${x0 + M.left}" y1="${y}" y2="${y}" stroke="#444444"/>`);
    out.push(`<text x="${x0 + M.left - 8}" y="${y}" ${FONT} font-size="11" text-anchor="end" dominant-baseline="middle" fill="#333333">${tickLabel(t)}</text>`);
  }
  for (const t of xt) {
    const x = px(t).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${y0 + M.top}" y2="${y0 + M.top + h}" stroke="#f0f0f0" stroke-width="1"/>`);
    out.push(`<line x1="${x}" x2="${x}" y1="${y0 + M.top + h}" y2="${y0 + M.top + h + 5}" stroke="#444444"/>`);
    out.push(`<text x="${x}" y="${y0 + M.top + h + 18}" ${FONT} font-size="11" text-anchor="middle" fill="#333333">${tickLabel(t)}</text>`);
  }
  out.push(`<text x="${x0 + M.left + w / 2}" y="${y0 + 22}" ${FONT} font-size="14" font-weight="bold" text-anchor="middle" fill="#111111">${xml(metric)}</text>`);
  out.push(`<text x="${x0 + M.left + w / 2}" y="${y0 + PANEL_H - 8}" ${FONT} font-size="12" text-anchor="middle" fill="#333333">epoch</text>`);
  out.push(`<text transform="translate(${x0 + 16} ${y0 + M.top + h / 2}) rotate(-90)" ${FONT} font-size="12" text-anchor="middle" fill="#333333">${xml(metric)}</text>`);
  for (const s of series) {
    // a missing value breaks the line; a lone point gets a dot
    let d = '';
    let pen = false;
    for (const [x, y] of s.points) {
      if (y === undefined) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`;
      pen = true;
    }
    const colour = PALETTE[s.run % PALETTE.length];
    const dash = s.val ? ' stroke-dasharray="6 4"' : '';
    out.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"${dash} stroke-linejoin="round" data-run="${s.run}" data-split="${s.val ? 'validation' : 'train'}"/>`);
    const defined = s.points.filter((p) => p[1] !== undefined);
    if (defined.length === 1) out.push(`<circle cx="${px(defined[0][0]).toFixed(1)}" cy="${py(defined[0][1]!).toFixed(1)}" r="3" fill="${colour}"/>`);
  }
  out.push('</g>');
  return out.join('\n');
}

function legend(names: string[], width: number, y0: number): { svg: string; height: number } {
  const items = [
    ...names.map((n, i) => ({ label: n, colour: PALETTE[i % PALETTE.length], dash: '' })),
    { label: 'train', colour: '#555555', dash: '' },
    { label: 'validation', colour: '#555555', dash: ' stroke-dasharray="6 4"' },
  ];
  const out: string[] = ['<g class="legend">'];
  let x = 20;
  let y = y0 + 14;
  for (const it of items) {
    const w = 34 + it.label.length * CHAR_W + 18;
    if (x + w > width - 10 && x > 20) {
      x = 20;
      y += 22;
    }
    out.push(`<line x1="${x}" x2="${x + 28}" y1="${y}" y2="${y}" stroke="${it.colour}" stroke-width="3"${it.dash}/>`);
    out.push(`<text x="${x + 34}" y="${y}" ${FONT} font-size="12" dominant-baseline="middle" fill="#222222">${xml(it.label)}</text>`);
    x += w;
  }
  out.push('</g>');
  return { svg: out.join('\n'), height: y - y0 + 16 };
}

/** Renders runs as a standalone SVG document (see plotHistory for the options). */
export function renderSvg(runs: readonly PlotRun[], title?: string, only?: readonly string[]): string {
  if (!Array.isArray(runs) || runs.length === 0) throw new TypeError('plotHistory: runs must be a non-empty array of { name, history }');
  if (title !== undefined && typeof title !== 'string') throw new TypeError('plotHistory: title must be a string');
  const all = runs.map((r, i) => epochsOf(r, i));
  if (only !== undefined && (!Array.isArray(only) || only.some((m) => typeof m !== 'string'))) throw new TypeError('plotHistory: metrics must be an array of names such as loss, accuracy');
  const found = metricNames(all);
  const missing = only?.filter((m) => !found.includes(m)) ?? [];
  if (missing.length) throw new RangeError(`plotHistory: no run logs ${missing.join(', ')} (they log ${found.join(', ')})`);
  const metrics = only ? [...only] : found;
  if (metrics.length === 0) throw new RangeError('plotHistory: the runs hold no numeric values to plot (no epochs, or no loss/metrics in them)');
  const cols = Math.min(2, metrics.length);
  const rows = Math.ceil(metrics.length / cols);
  const width = cols * PANEL_W;
  const top = title ? 40 : 8;
  const xMax = Math.max(...all.flatMap((epochs) => seriesOf(epochs, 'epoch').map((p) => p[0])));
  const leg = legend(runs.map((r) => r.name), width, top + rows * PANEL_H);
  const height = top + rows * PANEL_H + leg.height + 8;
  const body: string[] = [];
  if (title) body.push(`<text x="${width / 2}" y="26" ${FONT} font-size="17" font-weight="bold" text-anchor="middle" fill="#111111">${xml(title)}</text>`);
  metrics.forEach((m, k) => {
    const series: Series[] = [];
    all.forEach((epochs, run) => {
      for (const val of [false, true]) {
        const points = seriesOf(epochs, val ? `val_${m}` : m);
        if (points.some((p) => p[1] !== undefined)) series.push({ run, val, points });
      }
    });
    body.push(panel(m, series, (k % cols) * PANEL_W, top + Math.floor(k / cols) * PANEL_H, xMax));
  });
  body.push(leg.svg);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Wraps an SVG in a minimal HTML page. */
export function htmlPage(svg: string, title = 'training curves'): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${xml(title)}</title>\n<style>body{margin:16px;background:#fff;font-family:sans-serif}svg{max-width:100%;height:auto}</style></head>\n<body>\n${svg}</body></html>\n`;
}
