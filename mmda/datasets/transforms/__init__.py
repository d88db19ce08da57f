from .mix_transforms import (ClassMixTransform, CowMixTransform,  # noqa: F401
                             CutMixTransform)
