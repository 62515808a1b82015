/**
 * tg.pretrain: unsupervised (RBMs, autoencoders, greedy layer-wise) and auxiliary-task pretraining, for when no
 * pretrained model fits the task.
 * @packageDocumentation
 */
export { RBM } from './rbm';
export type { RBMOptions } from './rbm';
export { Autoencoder } from './autoencoder';
export type { AutoencoderOptions } from './autoencoder';
export { greedyLayerwise } from './greedy';
export type { GreedyOptions } from './greedy';
export type { PretrainFitOptions, PretrainHistory, UnsupervisedOptimizer } from './train-loop';
export * as auxiliary from './auxiliary';
