"""Data pre-processor for batches holding a source and a target half."""
from typing import Any, Dict

from mmseg.models.data_preprocessor import SegDataPreProcessor

from mmda.registry import MODELS


@MODELS.register_module()
class UDADataPreProcessor(SegDataPreProcessor):
    """:class:`SegDataPreProcessor` applied to both halves of a UDA batch.

    A batch of :class:`mmda.datasets.UDADataset` holds ``inputs`` /
    ``data_samples`` (source) and ``target_inputs`` /
    ``target_data_samples`` (target). Both are cast to the device, converted
    BGR->RGB, normalised with the same mean/std (DACS normalises both domains
    with the ImageNet statistics, thesis §4.1.3) and padded/stacked exactly
    like mmseg's :class:`SegDataPreProcessor`. Batches without the target keys
    (validation, testing, source-only training) are processed as by the
    parent class, so the same pre-processor serves every loop.

    Args: the same as :class:`mmseg.models.SegDataPreProcessor`.
    """

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        has_target = 'target_inputs' in data
        if not has_target:
            if 'target_data_samples' in data:
                raise KeyError('UDADataPreProcessor: the batch has '
                               '`target_data_samples` but no `target_inputs`')
            return super().forward(data, training)
        src = super().forward(
            dict(inputs=data['inputs'],
                 data_samples=data.get('data_samples', None)), training)
        tgt_samples = data.get('target_data_samples', None)
        if training and tgt_samples is None:
            raise KeyError('UDADataPreProcessor: a training batch with '
                           '`target_inputs` also needs `target_data_samples` '
                           '(UDADataset provides both)')
        tgt = super().forward(
            dict(inputs=data['target_inputs'], data_samples=tgt_samples),
            training)
        return dict(inputs=src['inputs'],
                    data_samples=src['data_samples'],
                    target_inputs=tgt['inputs'],
                    target_data_samples=tgt['data_samples'])
