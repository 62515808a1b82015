/**
 * tg.transfer: model surgery (reuse, replace, drop, insert, slice), classifier and input adaptation,
 * collections, and fine-tuning recipes.
 * @packageDocumentation
 */
export { reuse, reusedHead } from './reuse';
export type { ReuseOptions, HeadSpec } from './reuse';
export { replaceModule, dropModule, insertModule } from '../nn/edit';
export { sliceModule } from '../nn/slice';
export { layerChain } from '../nn/chain';
export type { Chainable } from '../nn/chain';
export { copyModule } from './copy';
export { resetClassifier, findClassifier } from './classifier';
export type { ResetClassifierOptions } from './classifier';
export { adaptInputChannels, findStem } from './channels';
export { Collections, collectionsOf, collectionsMetadata, restoreCollections, COLLECTIONS_KEY } from '../nn/collections';
export type { CollectionItem, RestoreCollectionsOptions } from '../nn/collections';
export { discriminativeGroups, discriminativeLrs } from './recipes/discriminative';
export type { DiscriminativeOptions, LrGroup } from './recipes/discriminative';
export { resolveLayerGroups } from '../nn/layer-groups';
export type { LayerGroupSpec, ResolvedGroup } from '../nn/layer-groups';
export { fineTune } from './recipes/fine-tune';
export type { FineTuneOptions, PassThroughFitOptions } from './recipes/fine-tune';
export { progressiveUnfreeze } from './recipes/progressive-unfreeze';
export { ProgressiveUnfreezing } from './recipes/progressive-unfreeze';
export type { ProgressiveUnfreezeOptions } from './recipes/progressive-unfreeze';
export type { ProgressiveUnfreezingOptions } from './recipes/progressive-unfreeze';
export type { HeadPattern } from './recipes/head';
export type { OptimizerSpec } from './recipes/optimizer';
export { cacheFeatures, FeatureCache } from './cache/feature-cache';
export type { CacheFeaturesOptions, CacheStore, CacheLoaderOptions, Fingerprint } from './cache/feature-cache';
