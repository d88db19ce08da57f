"""Translation statistics of a CycleGAN validation (cycle L1, brightness)."""
from typing import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from mmda.registry import METRICS
from mmda.visualization.translation import sample_field


@METRICS.register_module()
class TranslationMetric(BaseMetric):
    """Translation statistics on 0..255 RGB: cycle L1 per domain
    (``cycle_l1_a`` = mean |A->B->A - A|), mean brightness of the real and
    translated images (a day->night generator should bring ``mean_fake_b``
    close to ``mean_real_b``) and their gap ``brightness_gap_b``.
    """

    default_prefix = 'translation'

    def process(self, data_batch, data_samples: Sequence) -> None:
        for s in data_samples:
            r = {}
            for k in ('real_a', 'fake_b', 'rec_a', 'real_b', 'fake_a',
                      'rec_b'):
                r[k] = (sample_field(s, k).detach().float().clamp(-1, 1) +
                        1) * 127.5
            self.results.append(
                dict(cycle_l1_a=float((r['rec_a'] - r['real_a']).abs().mean()),
                     cycle_l1_b=float((r['rec_b'] - r['real_b']).abs().mean()),
                     mean_real_a=float(r['real_a'].mean()),
                     mean_real_b=float(r['real_b'].mean()),
                     mean_fake_a=float(r['fake_a'].mean()),
                     mean_fake_b=float(r['fake_b'].mean())))

    def compute_metrics(self, results: list) -> dict:
        keys = results[0].keys()
        out = {k: float(np.mean([r[k] for r in results])) for k in keys}
        out['brightness_gap_b'] = abs(out['mean_fake_b'] - out['mean_real_b'])
        return out
