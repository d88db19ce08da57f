"""Data pre-processor for batches holding a source and a target half."""
from typing import Any, Dict, List

import torch
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.utils import stack_batch

from mmda.registry import MODELS


@MODELS.register_module()
class UDADataPreProcessor(SegDataPreProcessor):
    """:class:`SegDataPreProcessor` applied to both halves of a UDA batch.

    A batch of :class:`mmda.datasets.uda_dataset.UDADataset` holds ``inputs`` /
    ``data_samples`` (source) and ``target_inputs`` /
    ``target_data_samples`` (target). Both are cast to the device, converted
    BGR->RGB, normalised with the same mean/std (DACS normalises both domains
    with the ImageNet statistics, thesis §4.1.3) and padded/stacked exactly
    like mmseg's :class:`SegDataPreProcessor`. Batches without the target keys
    (validation, testing, source-only training) are processed as by the
    parent class, so the same pre-processor serves every loop.

    Every further ``*inputs`` key (``translated_inputs``, the offline
    translation of the source images; ``day_inputs`` of an extra stream of
    :class:`mmda.datasets.uda_dataset.UDADataset`) is processed the same way, with its
    ``*data_samples`` when the batch has them.

    Args: the same as :class:`mmseg.models.SegDataPreProcessor`.
    """

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        extra = [k for k in data if k.endswith('inputs')
                 and k not in ('inputs', 'target_inputs')]
        if not extra:
            return self._forward_main(data, training)
        samples_keys = {k[:-len('inputs')] + 'data_samples' for k in extra}
        out = self._forward_main(
            {k: v for k, v in data.items()
             if k not in extra and k not in samples_keys}, training)
        for key in extra:
            skey = key[:-len('inputs')] + 'data_samples'
            if data.get(skey) is not None:
                res = super().forward(
                    dict(inputs=data[key], data_samples=data[skey]),
                    training)
                out[key], out[skey] = res['inputs'], res['data_samples']
            else:
                out[key] = self._images_only(data[key], training)
        return out

    def _images_only(self, inputs: List[torch.Tensor],
                     training: bool) -> torch.Tensor:
        """Inputs without data samples, processed like ``inputs`` (cast,
        BGR->RGB, normalise, pad to ``size``/``size_divisor``)."""
        inputs = self.cast_data(inputs)
        if self.channel_conversion and inputs[0].size(0) == 3:
            inputs = [x[[2, 1, 0], ...] for x in inputs]
        inputs = [x.float() for x in inputs]
        if self._enable_normalize:
            inputs = [(x - self.mean) / self.std for x in inputs]
        if training:
            batch, _ = stack_batch(inputs, None, size=self.size,
                                   size_divisor=self.size_divisor,
                                   pad_val=self.pad_val,
                                   seg_pad_val=self.seg_pad_val)
            return batch
        return torch.stack(inputs, dim=0)

    def _forward_main(self, data: dict,
                      training: bool = False) -> Dict[str, Any]:
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
