from .daformer_head import DAFormerHead
from .dlv2_head import DLV2Head
from .fcn8s_head import FCN8sHead, bilinear_upsample_weight

__all__ = ['DAFormerHead', 'DLV2Head', 'FCN8sHead', 'bilinear_upsample_weight']
