from .deeplab_resnet import DeepLabResNet
from .vgg import VGG16

__all__ = ['DeepLabResNet', 'VGG16']
