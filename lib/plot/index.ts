/** Training curves: plotHistory renders runs as SVG/HTML; loadRuns reads History JSON/CSV and TensorBoard logdirs. */
export { plotHistory } from './plot-history';
export type { PlotOptions } from './plot-history';
export { loadRuns } from './load-runs';
export type { PlotRun, HistoryLike } from './runs';
