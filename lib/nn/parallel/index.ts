/** tg.nn.parallel: training one model over several processes. */
export { DistributedDataParallel } from './distributed-data-parallel';
export type { DistributedDataParallelOptions } from './distributed-data-parallel';
