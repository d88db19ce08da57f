"""tools/demo.py (``make demo``): source-only vs DACS table and panel."""
import os.path as osp
import re
import sys

import numpy as np
import pytest

from tests.helpers import ROOT


def _demo():
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    try:
        import demo
    finally:
        sys.path.pop(0)
    return demo


def test_table_lists_present_classes_gain_and_oracle():
    demo = _demo()
    classes = [f'c{i}' for i in range(5)]
    iou = dict(source_only=np.array([10., 20., 0., 30., 0.]),
               dacs=np.array([20., 10., 0., 60., 0.]))
    table, m_src, m_dacs = demo.format_table(classes, [0, 1, 3], iou, 50.0)
    rows = [r for r in table.splitlines() if re.match(r'\| c\d', r)]
    assert [r.split('|')[1].strip() for r in rows] == ['c0', 'c1', 'c3']
    assert '| c1 | 20.0 | 10.0 | -10.0 |' in table
    assert (m_src, m_dacs) == (20.0, 30.0)
    assert '**+10.0**' in table
    assert 'Oracle' in table and '33%' in table  # (30 - 20) / (50 - 20)
    table, _, _ = demo.format_table(classes, [0], iou, None)
    assert 'Oracle' not in table


@pytest.mark.slow
def test_demo_end_to_end(tmp_path, capsys):
    """A few iterations of both trainings side by side, then the table and a
    panel of 2 rows x 4 columns (image, GT, source-only, DACS)."""
    import cv2
    demo = _demo()
    out = demo.main(['--iters', '3', '--work-dir', str(tmp_path),
                     '--num-panel', '2'])
    text = capsys.readouterr().out
    for m in ('source_only', 'dacs'):
        assert osp.isfile(out['ckpts'][m])
    assert f'panel (target image | ground truth | source-only | DACS): ' \
        f'{out["panel"]}' in text
    rows = re.findall(r'^\| (\w[\w ]*) \| [\d.]+ \| [\d.]+ \| [+-][\d.]+ \|$',
                      text, re.M)
    # the ten classes the toy draws, none of the nine it never draws
    assert rows == ['road', 'sidewalk', 'building', 'pole', 'traffic sign',
                    'vegetation', 'terrain', 'sky', 'person', 'car']
    assert 'Oracle' not in text  # --iters: not the documented schedule
    panel = cv2.imread(out['panel'])
    assert panel.shape == (22 + 2 * (64 * 2 + 4), 4 * (128 * 2 + 4), 3)
