/** tg.nn.models: ready-made architectures named as torchvision's, so their weights load by name. */
export { ResNet, BasicBlock, Bottleneck, resnet18, resnet34, resnet50, resnet101, resnet152 } from './resnet';
export type { ResNetOptions, ResNetBlock } from './resnet';
