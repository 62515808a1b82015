/** tg.nn.models: ready-made architectures named as torchvision's, so their weights load by name. */
export { ResNet, BasicBlock, Bottleneck, resnet18, resnet34, resnet50, resnet101, resnet152 } from './resnet';
export type { ResNetOptions, ResNetBlock } from './resnet';
export { ConvNeXt, CNBlock, convnext_tiny, convnext_small, convnext_base, convnext_large } from './convnext';
export type { ConvNeXtOptions, CNBlockConfig } from './convnext';
export { VisionTransformer, Encoder, EncoderBlock, MLPBlock, vit_b_16, vit_b_32, vit_l_16, vit_l_32, vit_h_14 } from './vision-transformer';
export type { VisionTransformerOptions, VisionTransformerConfig } from './vision-transformer';
export { DenseNet, DenseBlock, DenseLayer, Transition, densenet121, densenet161, densenet169, densenet201 } from './densenet';
export type { DenseNetOptions, DenseNetConfig } from './densenet';
