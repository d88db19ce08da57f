from .self_training_loop import (SelfTrainingLoop, SelfTrainingStateHook,
                                 round_portions)
from .sie_pseudo_labels import (image_class_statistics, keep_mask,
                                make_scale_invariant_examples,
                                normalized_entropy, pixel_entropy,
                                sample_patch_boxes, select_confident_images)

__all__ = [
    'SelfTrainingLoop', 'SelfTrainingStateHook', 'round_portions',
    'image_class_statistics', 'keep_mask', 'make_scale_invariant_examples',
    'normalized_entropy', 'pixel_entropy', 'sample_patch_boxes',
    'select_confident_images'
]
