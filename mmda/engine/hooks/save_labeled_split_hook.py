"""Write the labelled target split ``T_L`` of a semi-supervised run to the
work dir, so that the run can be repeated with exactly the same labelled
images (``split_file`` of
:class:`mmda.datasets.semi_target.SemiTargetUDADataset` or
:class:`mmda.datasets.semi_target.LabeledSubsetDataset`)."""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmda.registry import HOOKS


def find_split_dataset(dataset):
    """The first dataset with ``save_split`` among ``dataset`` and the
    datasets it wraps (``.dataset`` / ``.datasets`` attributes)."""
    todo = [dataset]
    seen = set()
    while todo:
        ds = todo.pop(0)
        if ds is None or id(ds) in seen:
            continue
        seen.add(id(ds))
        if callable(getattr(ds, 'save_split', None)):
            return ds
        todo.append(getattr(ds, 'dataset', None))
        todo.extend(getattr(ds, 'datasets', None) or [])
    return None


@HOOKS.register_module()
class SaveLabeledSplitHook(Hook):
    """Write the labelled target split of the training set to the work dir.

    The file (default ``{work_dir}/labeled_split.txt``) can be given back as
    ``split_file`` to repeat a run with exactly the same T_L.

    Args:
        filename (str): file name inside ``runner.work_dir``.
    """

    priority = 'VERY_LOW'

    def __init__(self, filename: str = 'labeled_split.txt') -> None:
        self.filename = filename

    def before_train(self, runner) -> None:
        ds = find_split_dataset(runner.train_dataloader.dataset)
        if ds is None:
            print_log('SaveLabeledSplitHook: the training set has no '
                      'labelled split (expected SemiTargetUDADataset or '
                      'LabeledSubsetDataset); nothing written', 'current',
                      level=30)
            return
        path = osp.join(runner.work_dir, self.filename)
        if is_main_process():
            ds.save_split(path)
            print_log(f'Labelled target split ({len(ds.labeled_keys)} '
                      f'images) written to {path}', 'current')
