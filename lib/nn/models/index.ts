/** tg.nn.models: ready-made architectures named as torchvision's, so their weights load by name. */
export { ResNet, BasicBlock, Bottleneck, resnet18, resnet34, resnet50, resnet101, resnet152 } from './resnet';
export type { ResNetOptions, ResNetBlock } from './resnet';
export { MobileNetV2, InvertedResidual, mobilenet_v2 } from './mobilenetv2';
export type { MobileNetV2Options } from './mobilenetv2';
export { MobileNetV3, InvertedResidualV3, mobilenet_v3_large, mobilenet_v3_small, mobilenetV3Config } from './mobilenetv3';
export type { MobileNetV3Options, InvertedResidualConfig } from './mobilenetv3';
export {
  EfficientNet, MBConv, efficientnet_b0, efficientnet_b1, efficientnet_b2, efficientnet_b3, efficientnet_b4, efficientnet_b5, efficientnet_b6, efficientnet_b7,
} from './efficientnet';
export type { EfficientNetOptions, MBConvConfig } from './efficientnet';
export { makeDivisible } from './make-divisible';
export { ConvNeXt, CNBlock, convnext_tiny, convnext_small, convnext_base, convnext_large } from './convnext';
export type { ConvNeXtOptions, CNBlockConfig } from './convnext';
export { VisionTransformer, Encoder, EncoderBlock, MLPBlock, vit_b_16, vit_b_32, vit_l_16, vit_l_32, vit_h_14 } from './vision-transformer';
export type { VisionTransformerOptions, VisionTransformerConfig } from './vision-transformer';
export { DenseNet, DenseBlock, DenseLayer, Transition, densenet121, densenet161, densenet169, densenet201 } from './densenet';
export type { DenseNetOptions, DenseNetConfig } from './densenet';
