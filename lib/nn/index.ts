/** tg.nn: modules, layers, losses, initialisation, functional ops and ready-made models. */
export * as functional from './functional';
export * as utils from './utils';
export * as init from './init';
export * as models from './models';
export { Module, isModule } from './module';
export type { ModuleTarget, ForwardHook, ForwardPreHook, HookHandle, ParameterOptions, BufferOptions } from './module';
export { Sequential } from './sequential';
export { ModuleList, ModuleDict } from './module-list';
export { PARAM_NAME, parameterName, setParameterName } from './parameter';
export { compilePattern } from './pattern';
export type { NamePattern } from './pattern';
export { StateDictError, LoadReport } from './state-dict';
export type { StateDict, StateDictOptions, LoadStateDictOptions, ShapeMismatch, LoadReportData } from './state-dict';
export type { SummaryInput } from './summary';
export type { FactoryOptions } from './layers/common';
export { Linear } from './layers/linear';
export type { LinearOptions } from './layers/linear';
export { Conv1d, Conv2d } from './layers/conv';
export type { ConvLayerOptions } from './layers/conv';
export { BatchNorm1d, BatchNorm2d } from './layers/batchnorm';
export type { BatchNormLayerOptions } from './layers/batchnorm';
export { LayerNorm } from './layers/layernorm';
export type { LayerNormOptions } from './layers/layernorm';
export { LayerNorm2d } from './layers/layernorm2d';
export { Permute } from './layers/permute';
export { MultiheadAttention } from './layers/multihead-attention';
export type { MultiheadAttentionOptions, MultiheadAttentionCallOptions } from './layers/multihead-attention';
export { TransformerEncoderLayer } from './layers/transformer-encoder-layer';
export type { TransformerEncoderLayerOptions, TransformerEncoderLayerCallOptions } from './layers/transformer-encoder-layer';
export { Dropout } from './layers/dropout';
export { StochasticDepth } from './layers/stochastic-depth';
export { Embedding } from './layers/embedding';
export type { EmbeddingOptions } from './layers/embedding';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './layers/pooling';
export type { MaxPool2dOptions, AvgPool2dOptions } from './layers/pooling';
export { Identity, Flatten } from './layers/shape';
export { StopGradient } from './layers/stop-gradient';
export type { FlattenOptions } from './layers/shape';
export { Hardtanh, ReLU6 } from './layers/hardtanh';
export type { HardtanhOptions } from './layers/hardtanh';
export { ZeroPad2d } from './layers/padding';
export { Add, Multiply, Concatenate } from './layers/merge';
export { ReLU, ELU, SELU, LeakyReLU, GELU, Softplus, Tanh, Sigmoid, Softmax, LogSoftmax } from './layers/activation';
export {
  CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss, BCEWithLogitsLoss, BCELoss,
  MarginRankingLoss, TripletMarginLoss, KLDivLoss,
} from './layers/loss';
export type { Reduction, ClassLossOptions, TripletMarginLossOptions } from './layers/loss';
