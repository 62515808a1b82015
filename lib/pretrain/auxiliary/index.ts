/** tg.pretrain.auxiliary: pretraining on an auxiliary task whose labels are free (corruption, ranking, same/different). */
export { corruptionTask } from './corruption';
export type { CorruptionTaskOptions, CorruptionTaskResult } from './corruption';
export { trainScorer } from './ranking';
export type { ScorerOptions } from './ranking';
export { Siamese } from './siamese';
export { makePairs, makeTriplets } from './pairs';
