/** Histograms of weights as TensorBoard's HistogramProto holds them: min, max, num, sum, sum of squares, buckets. */

/** The fields of a HistogramProto; bucketLimit[i] is the right edge of bucket i (its left edge is the previous limit, or min). */
export interface Histogram {
  min: number;
  max: number;
  num: number;
  sum: number;
  sumSquares: number;
  bucketLimit: number[];
  bucket: number[];
}

/** Counts values into `bins` equal-width buckets between their min and max (non-finite values are left out). */
export function histogramOf(values: ArrayLike<number>, bins = 30): Histogram {
  let min = Infinity;
  let max = -Infinity;
  let num = 0;
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    num++;
    sum += v;
    sumSquares += v * v;
  }
  if (num === 0) return { min: 0, max: 0, num: 0, sum: 0, sumSquares: 0, bucketLimit: [], bucket: [] };
  if (min === max) return { min, max, num, sum, sumSquares, bucketLimit: [max], bucket: [num] };
  const width = (max - min) / bins;
  const bucket = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    // the max falls in the last bucket, as numpy.histogram's closed last bin
    bucket[Math.min(bins - 1, Math.floor((v - min) / width))]++;
  }
  const bucketLimit = bucket.map((_, i) => (i === bins - 1 ? max : min + width * (i + 1)));
  return { min, max, num, sum, sumSquares, bucketLimit, bucket };
}
