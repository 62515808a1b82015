/** tg.distributed: process groups and collectives on LibTorch's c10d (Gloo), as torch.distributed. */
export { init, destroy, isAvailable, isInitialized, getRank, getWorldSize } from './process-group';
export type { InitOptions, GroupInfo } from './process-group';
export { allReduce, broadcast, allGather, reduceScatter, barrier } from './collectives';
export type { ReduceOp } from './collectives';
