"""Generation of one self-training round of scale-invariant examples.

Subhani & Ali, ECCV 2020 (docs/methods.md#scale-invariant-examples). A round
(:meth:`RoundGenerator.generate`) is, in order:

1. prediction: the model's ``test_step`` on every target image of this rank
   and the per-image, per-class statistics (:meth:`predict_statistics`);
2. gathering: the statistics of all ranks (:meth:`gather_statistics`);
3. selection: the confident images and the class thresholds
   (:meth:`select`, :func:`mmda.models.uda.sie_selection.
   select_confident_images`);
4. writing: the selected images predicted again and their examples written
   as an image/label dataset in ``{work_dir}/{examples_dir}/round_{r}``
   (:meth:`write_examples`);
5. logging: the round's ledger entry, ``round.json`` and the log lines
   (:meth:`ledger`, :meth:`log_round`).
"""
import copy
import json
import math
import os
import os.path as osp
import shutil
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.dataset import pseudo_collate
from mmengine.dist import (all_gather_object, barrier, get_dist_info,
                           is_main_process)
from torch.utils.data import DataLoader, Subset

from mmda.models.uda.sie_patches import make_scale_invariant_examples, \
    sample_patch_boxes
from mmda.models.uda.sie_selection import (image_class_statistics, keep_mask,
                                           normalize_groups,
                                           pseudo_label_confusion,
                                           pseudo_label_metrics,
                                           select_confident_images)
from mmda.registry import DATASETS

#: ``train_cfg.example_dataloader`` by default: batch 1, shuffled (the
#: authors' setting)
DEFAULT_EXAMPLE_DATALOADER = dict(
    batch_size=1, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ]))


class RoundGenerator:
    """Pseudo-labels and examples of the rounds of a
    :class:`~mmda.engine.loops.SelfTrainingLoop` (its arguments of the same
    names).

    Args:
        runner (Runner): the runner (model, work dir, logger).
        target_dataloader (dict): ``dataset``, ``batch_size``,
            ``num_workers`` of the unlabelled target images.
        num_patches (int): examples per selected image.
        patch_size (tuple[int, int]): (h, w) of a patch.
        examples_dir (str): folder of the rounds in the work dir.
        selection_ignore_classes (Sequence[int]): classes that select no
            image.
        num_classes (int, optional): ``C`` of ``p / C``.
        ignore_index (int): label of dropped pixels.
        pseudo_label_quality (bool): compare the pseudo-labels with the
            target labels (a diagnostic).
    """

    def __init__(self, runner, target_dataloader: dict, num_patches: int,
                 patch_size: Tuple[int, int], examples_dir: str,
                 selection_ignore_classes: Sequence[int] = (),
                 num_classes: Optional[int] = None, ignore_index: int = 255,
                 pseudo_label_quality: bool = False) -> None:
        self.runner = runner
        self.target_dataloader_cfg = target_dataloader
        self.num_patches = num_patches
        self.patch_size = patch_size
        self.examples_dir = examples_dir
        self.selection_ignore_classes = tuple(selection_ignore_classes)
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.pseudo_label_quality = pseudo_label_quality
        self._target_dataset = None

    @property
    def target_dataset(self):
        if self._target_dataset is None:
            cfg = copy.deepcopy(self.target_dataloader_cfg['dataset'])
            self._target_dataset = DATASETS.build(cfg) \
                if isinstance(cfg, dict) else cfg
            if len(self._target_dataset) == 0:
                raise ValueError(
                    'train_cfg.target_dataloader.dataset is empty')
        return self._target_dataset

    # ------------------------------------------------------ 1. prediction
    def _predict_loader(self, indices: List[int]) -> DataLoader:
        cfg = self.target_dataloader_cfg
        return DataLoader(
            Subset(self.target_dataset, indices),
            batch_size=int(cfg.get('batch_size', 1)),
            num_workers=int(cfg.get('num_workers', 0)),
            shuffle=False,
            collate_fn=pseudo_collate)

    @torch.no_grad()
    def predict(self, batch: dict) -> Tuple[List[torch.Tensor],
                                            List[torch.Tensor]]:
        """Softmax of the model on a packed batch, at the packed image size.

        ``ori_shape`` is set to the packed ``img_shape`` so that mmseg's
        post-processing (padding removal, resize) returns logits aligned with
        the packed image, from which the patches are cut.
        """
        for sample in batch['data_samples']:
            sample.set_metainfo(dict(ori_shape=tuple(sample.img_shape)))
        outputs = self.runner.model.test_step(batch)
        probs, images = [], []
        for img, out in zip(batch['inputs'], outputs):
            logits = out.seg_logits.data.float()
            if logits.shape[-2:] != img.shape[-2:]:
                raise RuntimeError(
                    f'prediction of {out.img_path} is {tuple(logits.shape)}, '
                    f'image is {tuple(img.shape)}')
            probs.append(logits.softmax(dim=0))
            images.append(img)
        return probs, images

    def _progress(self, total: int, desc: str):
        from tqdm import tqdm
        return tqdm(total=total, desc=desc, disable=not is_main_process(),
                    dynamic_ncols=True)

    def predict_statistics(self, r: int) -> Dict[int, tuple]:
        """``{index: (score, mean normalised entropy)}`` (C,) of this rank's
        share of the target images (image ``i`` on rank ``i % world``)."""
        rank, world = get_dist_info()
        n = len(self.target_dataset)
        mine = list(range(rank, n, world))
        stats = {}
        bar = self._progress(n, f'SIE round {r}: predict target')
        pos = 0
        for batch in self._predict_loader(mine):
            probs, _ = self.predict(batch)
            for prob in probs:
                st = image_class_statistics(prob[None])
                stats[mine[pos]] = (st['score'][0].cpu(),
                                    st['mean_norm_entropy'][0].cpu())
                pos += 1
            bar.update(len(probs) * world)
        bar.close()
        return stats

    # ------------------------------------------------------- 2. gathering
    def gather_statistics(self, r: int, stats: Dict[int, tuple]
                          ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(N, C) scores and mean normalised entropies of all ranks."""
        n = len(self.target_dataset)
        merged = {}
        for part in all_gather_object(stats):
            merged.update(part)
        if sorted(merged) != list(range(n)):
            raise RuntimeError(f'SIE round {r}: predicted {len(merged)} of '
                               f'{n} target images')
        return (torch.stack([merged[i][0] for i in range(n)]),
                torch.stack([merged[i][1] for i in range(n)]))

    # ------------------------------------------------------- 3. selection
    def select(self, r: int, portion: float, score: torch.Tensor,
               mean_ne: torch.Tensor) -> dict:
        """Images and thresholds of the round (a warning names the
        predicted classes that select no image)."""
        sel = select_confident_images(
            score, mean_ne, portion,
            ignore_classes=self.selection_ignore_classes,
            num_classes=self.num_classes)
        self._warn_empty_classes(r, portion, score.shape[0], sel)
        return sel

    def _warn_empty_classes(self, r: int, portion: float, n: int,
                            sel: dict) -> None:
        """``floor(N_c * p / C)`` is 0 when ``N_c < C / p`` (190 images at
        p = 0.1 with 19 classes), e.g. on a small target set."""
        C = self.num_classes or len(sel['num_candidates'])
        skip = self.selection_ignore_classes
        zero = [(c, int(nc)) for c, (nc, chosen) in enumerate(
            zip(sel['num_candidates'], sel['per_class']))
            if nc > 0 and not chosen and c not in skip]
        if not zero:
            return
        need = math.ceil(C / portion - 1e-9)
        msg = (f'Self-training round {r}: floor(N_c * p / {C}) = 0 at '
               f'p={portion} for classes {[c for c, _ in zero]} (N_c = '
               f'{[nc for _, nc in zero]} of {n} target images predict '
               f'them; a class needs N_c >= {need} to select an image)')
        if not sel['selected']:
            msg += ('; no class selects an image, so this round makes no '
                    'example and trains nothing. Use a larger target set '
                    '(train_cfg.target_dataloader.dataset) or a larger '
                    'train_cfg.init_portion')
        self.runner.logger.warning(msg)

    # --------------------------------------------------------- 4. writing
    def write_examples(self, r: int, root: str, selected: List[int],
                       thresholds: torch.Tensor, seed: int
                       ) -> Optional[dict]:
        """Predict the selected images again and write their examples to
        ``root`` (the ``k``-th selected image on rank ``k % world``);
        returns the pseudo-label quality if asked for."""
        rank, world = get_dist_info()
        if is_main_process():
            if osp.isdir(root):  # left by an interrupted generation
                shutil.rmtree(root)
            os.makedirs(osp.join(root, 'images'))
            os.makedirs(osp.join(root, 'labels'))
        barrier()
        sub = list(range(rank, len(selected), world))
        bar = self._progress(len(selected), f'SIE round {r}: write examples')
        pos = 0
        confusion = None
        if sub:
            for batch in self._predict_loader([selected[k] for k in sub]):
                probs, images = self.predict(batch)
                for prob, img in zip(probs, images):
                    norm, pred, max_prob, _, _ = normalize_groups(prob[None])
                    keep = keep_mask(norm[0], pred[0],
                                     thresholds.to(prob.device))
                    gen = torch.Generator().manual_seed(
                        (seed * 1000003 + 7919 * r + sub[pos]) % (2**62))
                    self._write(root, sub[pos], img, prob, keep, gen,
                                top=(pred[0], max_prob[0]))
                    if self.pseudo_label_quality:
                        cm = pseudo_label_confusion(
                            pred[0], keep,
                            self.target_label(selected[sub[pos]],
                                              pred.shape[-2:]),
                            prob.shape[0], self.ignore_index)
                        confusion = cm if confusion is None \
                            else confusion + cm
                    pos += 1
                bar.update(len(probs) * world)
        bar.close()
        quality = None
        if self.pseudo_label_quality:
            parts = [c for c in all_gather_object(confusion) if c is not None]
            if parts:
                quality = pseudo_label_metrics(sum(parts[1:], parts[0]))
        barrier()
        return quality

    def _write(self, root: str, k: int, img: torch.Tensor,
               prob: torch.Tensor, keep: torch.Tensor,
               gen: torch.Generator, top=None) -> None:
        import mmcv
        H, W = img.shape[-2:]
        boxes = sample_patch_boxes(H, W, self.patch_size[0],
                                   self.patch_size[1], self.num_patches,
                                   generator=gen)
        images, labels = make_scale_invariant_examples(
            img, prob, keep, boxes, self.patch_size,
            ignore_index=self.ignore_index, top=top)
        images = images.permute(0, 2, 3, 1).contiguous().cpu().numpy()
        labels = labels.cpu().numpy()
        for j in range(self.num_patches):
            name = f'{k:06d}_{j}.png'
            mmcv.imwrite(images[j], osp.join(root, 'images', name),
                         auto_mkdir=False)
            mmcv.imwrite(labels[j], osp.join(root, 'labels', name),
                         auto_mkdir=False)

    def target_label(self, index: int, size) -> torch.Tensor:
        """The target dataset's label of image ``index`` at ``size``."""
        from mmseg.datasets.transforms import LoadAnnotations
        info = copy.deepcopy(self.target_dataset.get_data_info(index))
        path = info.get('seg_map_path')
        if not path:
            raise ValueError(
                'train_cfg.pseudo_label_quality=True needs target labels, '
                f'but image {info.get("img_path")!r} of the target dataset '
                'has no seg_map_path; set train_cfg.target_dataloader.'
                'dataset.data_prefix.seg_map_path (e.g. gtFine/train)')
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'train_cfg.pseudo_label_quality: label file {path!r} of '
                f'target image {info.get("img_path")!r} does not exist')
        info.setdefault('seg_fields', [])
        gt = LoadAnnotations()(info)['gt_seg_map']
        gt = torch.from_numpy(gt.astype('int64'))
        if tuple(gt.shape) != tuple(size):  # target pipeline resized
            gt = torch.nn.functional.interpolate(
                gt[None, None].float(), size=tuple(size),
                mode='nearest')[0, 0].long()
        return gt

    # -------------------------------------------------------- 5. logging
    def generate(self, r: int, portion: float, start_iter: int, seed: int,
                 round_length: Callable[[dict], int],
                 epochs_per_round: int) -> dict:
        """Steps 1-5 for round ``r``; returns its ledger entry.
        ``round_length(info)``: the iterations of the written round."""
        t0 = time.time()
        self.runner.model.eval()
        n = len(self.target_dataset)
        score, mean_ne = self.gather_statistics(
            r, self.predict_statistics(r))
        sel = self.select(r, portion, score, mean_ne)
        selected = list(sel['selected'])  # dataset indices
        rel_dir = osp.join(self.examples_dir, f'round_{r}')
        root = osp.join(self.runner.work_dir, rel_dir)
        quality = self.write_examples(r, root, selected,
                                      torch.tensor(sel['thresholds']), seed)
        names = [f'{k:06d}_{j}' for k in range(len(selected))
                 for j in range(self.num_patches)]
        info = dict(
            round=r,
            portion=portion,
            dir=rel_dir,
            start_iter=start_iter,
            num_selected=len(selected),
            num_examples=len(names),
            thresholds=[float(t) for t in sel['thresholds']],
            selected=[int(s) for s in selected],
            selected_per_class=[len(c) for c in sel['per_class']],
            num_candidates=[int(c) for c in sel['num_candidates']],
            num_iters=0)
        if quality is not None:
            info['pseudo_label_quality'] = quality
        if is_main_process():
            with open(osp.join(root, 'examples.txt'), 'w') as f:
                f.write(''.join(name + '\n' for name in names))
        barrier()
        if names:
            info['num_iters'] = round_length(info)
        if is_main_process():
            meta = dict(info)
            meta.update(
                patch_size=list(self.patch_size),
                num_patches=self.num_patches,
                epochs_per_round=epochs_per_round,
                selected_img_paths=[
                    self.target_dataset.get_data_info(s).get('img_path')
                    for s in selected
                ])
            with open(osp.join(root, 'round.json'), 'w') as f:
                json.dump(meta, f, indent=1)
        self.log_round(info, n, root, time.time() - t0)
        return info

    def log_round(self, info: dict, n: int, root: str,
                  seconds: float) -> None:
        """The round's summary (and pseudo-label quality) in the log."""
        r = info['round']
        finite = [t for t in info['thresholds'] if math.isfinite(t)]
        self.runner.logger.info(
            f'Self-training round {r}: p={info["portion"]}, '
            f'{info["num_selected"]} of {n} target images selected, '
            f'{info["num_examples"]} examples in {root}, '
            f'{info["num_iters"]} iterations; class thresholds '
            f'{[round(t, 3) for t in info["thresholds"]]} '
            f'(mean {sum(finite) / max(len(finite), 1):.3f}); '
            f'{seconds:.1f} s')
        quality = info.get('pseudo_label_quality')
        if quality is None:
            return

        def fmt(v):
            return 'n/a' if v is None else f'{v:.2f}'
        shares = ', '.join(
            f'{c}: {a:.1f}/{b:.1f}'
            for c, (a, b) in enumerate(
                zip(quality['pred_share'], quality['gt_share']))
            if a is not None and (a > 0 or b > 0))
        self.runner.logger.info(
            f'Self-training round {r} pseudo-labels vs target labels: '
            f'accuracy {fmt(quality["acc"])}%, coverage '
            f'{fmt(quality["coverage"])}% of labelled pixels, mIoU '
            f'{fmt(quality["miou"])}; share per class (pseudo / true) '
            f'{shares or "n/a"}')

