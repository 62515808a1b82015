/** Renders learning-rate finder sweeps (tg.train.findLr): smoothed loss against the rate on a log axis, with the suggestion marked. */
import { niceTicks, tickLabel } from './ticks';
import { PALETTE, xml } from './svg';

/** One sweep to draw, as findLr's toJSON() writes it. */
export interface LrCurve {
  name: string;
  lrs: readonly number[];
  losses: readonly number[];
  suggestion?: number | null;
}

const W = 640;
const H = 400;
const M = { left: 70, right: 24, top: 40, bottom: 56 };
const FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"';

/** Checks one parsed lr-finder JSON object; undefined when it is not one. */
export function asLrCurve(name: string, data: unknown): LrCurve | undefined {
  const d = data as { kind?: unknown; lrs?: unknown; losses?: unknown; suggestion?: unknown };
  if (d === null || typeof d !== 'object' || d.kind !== 'lr-finder') return undefined;
  const nums = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'number' || x === null);
  if (!nums(d.lrs) || !nums(d.losses) || (d.lrs as unknown[]).length !== (d.losses as unknown[]).length || (d.lrs as unknown[]).length === 0)
    throw new RangeError(`${name}: an lr-finder result needs lrs and losses, two arrays of numbers of one length`);
  if ((d.lrs as (number | null)[]).some((x) => x === null || !(x > 0))) throw new RangeError(`${name}: an lr-finder result's rates must be positive numbers`);
  const suggestion = typeof d.suggestion === 'number' && d.suggestion > 0 ? d.suggestion : null;
  return { name, lrs: d.lrs as number[], losses: (d.losses as (number | null)[]).map((x) => (x === null ? NaN : x)), suggestion };
}

/** The SVG of one or more sweeps overlaid: x = log10(rate), labelled as powers of ten; a dashed line at each suggestion. */
export function renderLrCurves(curves: readonly LrCurve[], title?: string): string {
  const w = W - M.left - M.right;
  const h = H - M.top - M.bottom;
  const xs = curves.flatMap((c) => c.lrs.map(Math.log10));
  const ys = curves.flatMap((c) => c.losses.filter(Number.isFinite));
  if (ys.length === 0) throw new RangeError('plotHistory: the lr-finder results hold no finite loss');
  const xt = niceTicks(Math.floor(Math.min(...xs)), Math.ceil(Math.max(...xs)), 8, true);
  const yt = niceTicks(Math.min(...ys), Math.max(...ys), 5);
  const [xa, xb, ya, yb] = [xt[0], xt[xt.length - 1], yt[0], yt[yt.length - 1]];
  const px = (lr: number) => M.left + ((Math.log10(lr) - xa) / (xb - xa)) * w;
  const py = (y: number) => M.top + h - ((y - ya) / (yb - ya)) * h;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 22 * curves.length}" viewBox="0 0 ${W} ${H + 22 * curves.length}">`,
    `<rect width="${W}" height="${H + 22 * curves.length}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="24" ${FONT} font-size="15" font-weight="bold" text-anchor="middle" fill="#111111">${xml(title ?? 'learning-rate finder')}</text>`,
    `<rect x="${M.left}" y="${M.top}" width="${w}" height="${h}" fill="#ffffff" stroke="#444444"/>`,
  ];
  for (const t of yt) {
    const y = py(t).toFixed(1);
    out.push(`<line x1="${M.left}" x2="${M.left + w}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${M.left - 8}" y="${y}" ${FONT} font-size="11" text-anchor="end" dominant-baseline="middle" fill="#333333">${tickLabel(t)}</text>`);
  }
  for (const t of xt) {
    const x = (M.left + ((t - xa) / (xb - xa)) * w).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${M.top}" y2="${M.top + h}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x}" y="${M.top + h + 18}" ${FONT} font-size="11" text-anchor="middle" fill="#333333">1e${t}</text>`);
  }
  out.push(`<text x="${M.left + w / 2}" y="${H - 12}" ${FONT} font-size="12" text-anchor="middle" fill="#333333">learning rate (log scale)</text>`);
  out.push(`<text transform="translate(18 ${M.top + h / 2}) rotate(-90)" ${FONT} font-size="12" text-anchor="middle" fill="#333333">loss (smoothed)</text>`);
  curves.forEach((c, i) => {
    const colour = PALETTE[i % PALETTE.length];
    let d = '';
    let pen = false;
    c.lrs.forEach((lr, k) => {
      const y = c.losses[k];
      if (!Number.isFinite(y)) return void (pen = false);
      d += `${pen ? 'L' : 'M'}${px(lr).toFixed(1)},${py(y).toFixed(1)}`;
      pen = true;
    });
    out.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2" data-run="${i}"/>`);
    if (c.suggestion) {
      const x = px(c.suggestion).toFixed(1);
      out.push(`<line x1="${x}" x2="${x}" y1="${M.top}" y2="${M.top + h}" stroke="${colour}" stroke-width="1.5" stroke-dasharray="5 4" data-suggestion="${c.suggestion}"/>`);
    }
    const label = `${c.name}${c.suggestion ? ` (suggested ${c.suggestion.toExponential(2)})` : ''}`;
    out.push(`<line x1="20" x2="48" y1="${H + 8 + 22 * i}" y2="${H + 8 + 22 * i}" stroke="${colour}" stroke-width="3"/>`);
    out.push(`<text x="56" y="${H + 8 + 22 * i}" ${FONT} font-size="12" dominant-baseline="middle" fill="#222222">${xml(label)}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}
