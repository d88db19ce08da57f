"""Cityscapes day images paired with their offline day->night translation.

Scherer et al. (2021), Table 1 caption: "Day2Night (CS)" denotes the
Cityscapes dataset translated to nighttime *prior to* the segmentation
training. ``tools/translate.py`` writes that copy: whole images, same
relative paths and file names as the source folder (its ``--out``).
:class:`Day2NightCityscapesDataset` lists the day images as
``CityscapesDataset`` does and attaches to each sample the path of its
translation in that folder, so that one sample yields the pair
``(x_s, G_ST(x_s))`` with the same labels ``y_s`` - what the supervised
term (eq. 12) and the day consistency term (eq. 15) of the mean teacher
need. The pipeline loads both (``LoadImageFromFile`` +
:class:`~mmda.datasets.transforms.translated_pair.LoadTranslatedImage`), crops/flips them
identically and packs the translation as ``translated_inputs``
(:class:`~mmda.datasets.transforms.translated_pair.PackTranslatedSegInputs`).

Why not translate the crops on the fly (``MeanTeacherUDA(translation=
'online')``)? The generator normalises with InstanceNorm, whose statistics
are those of its input: a 256x256 crop is translated with the statistics of
the crop, a whole image with those of the whole image, so the two
translations differ (and the whole-image one is the paper's).

A missing folder or missing translations raise ``FileNotFoundError`` naming
the folder and the ``tools/translate.py`` command that writes it.
"""
import os.path as osp
from typing import List, Optional

from mmda.registry import DATASETS
from .utils import CheckedSegDataset

CITYSCAPES_LAYOUT = """\
data/cityscapes/
├── leftImg8bit/{train,val,test,train_extra}/CITY/*_leftImg8bit.png
└── gtFine/{train,val}/CITY/*_gtFine_labelTrainIds.png
(labelTrainIds written by mmseg's tools/dataset_converters/cityscapes.py)"""

#: tools/translate.py settings of the "Day2Night (CS)" copy.
DEFAULT_TRANSLATOR_CONFIG = 'configs/cyclegan/city2night.py'
DEFAULT_TRANSLATOR_CHECKPOINT = 'work_dirs/city2night/iter_700000.pth'


def translate_command(src: str, out: str,
                      config: str = DEFAULT_TRANSLATOR_CONFIG,
                      checkpoint: str = DEFAULT_TRANSLATOR_CHECKPOINT,
                      scale: Optional[float] = 0.5) -> str:
    """The ``tools/translate.py`` command that writes ``out`` from ``src``."""
    cmd = (f'python tools/translate.py {config} {checkpoint} '
           f'--src {src} --out {out}')
    if scale is not None and scale != 1.0:
        cmd += f' --scale {scale:g}'
    return cmd


@DATASETS.register_module()
class Day2NightCityscapesDataset(CheckedSegDataset):
    """Cityscapes day images, each with its offline day->night translation.

    Every sample has ``img_path`` (the day image), ``translated_img_path``
    (``translated_dir/<path of the image relative to data_prefix.img_path>``)
    and, when ``data_prefix`` has ``seg_map_path``, the label map; without
    ``seg_map_path`` the samples are unlabelled (e.g. ``train_extra`` or
    ``test`` images for the day consistency term, "all images from CS",
    §4.1).

    Args:
        translated_dir (str): The folder ``tools/translate.py`` wrote (its
            ``--out``), absolute or relative to the working directory, like
            ``--out``; e.g. ``data/cityscapes_day2night/leftImg8bit/train``.
        translator_config (str): CycleGAN config named in the error message
            when translations are missing.
        translator_checkpoint (str): CycleGAN checkpoint named likewise.
        translate_scale (float, optional): ``--scale`` named likewise
            (0.5: translate at the 1024x512 training resolution).
        online_hint (str): Named in the error message as the alternative
            (on-the-fly translation of crops).
        **kwargs: as ``CityscapesDataset`` (``data_root``, ``data_prefix``,
            ``pipeline``, ...).
    """
    DATASET_NAME = 'Day2NightCityscapesDataset'
    LAYOUT = CITYSCAPES_LAYOUT
    DEFAULT_DATA_PREFIX = dict(img_path='leftImg8bit/train',
                               seg_map_path='gtFine/train')

    def __init__(self,
                 translated_dir: Optional[str] = None,
                 translator_config: str = DEFAULT_TRANSLATOR_CONFIG,
                 translator_checkpoint: str = DEFAULT_TRANSLATOR_CHECKPOINT,
                 translate_scale: Optional[float] = 0.5,
                 online_hint: str = (
                     'configs/mean_teacher/cs2night_online_translation.py'),
                 img_suffix: str = '_leftImg8bit.png',
                 seg_map_suffix: str = '_gtFine_labelTrainIds.png',
                 **kwargs) -> None:
        if not translated_dir or not isinstance(translated_dir, str):
            raise KeyError(
                'Day2NightCityscapesDataset: `translated_dir` must be the '
                'folder tools/translate.py wrote (its --out), e.g. '
                "translated_dir='data/cityscapes_day2night/leftImg8bit/"
                f"train'; got {translated_dir!r}")
        self.translated_dir = translated_dir
        self.translator_config = translator_config
        self.translator_checkpoint = translator_checkpoint
        self.translate_scale = translate_scale
        self.online_hint = online_hint
        super().__init__(img_suffix=img_suffix,
                         seg_map_suffix=seg_map_suffix, **kwargs)

    def _command(self) -> str:
        return translate_command(self.data_prefix['img_path'],
                                 self.translated_dir, self.translator_config,
                                 self.translator_checkpoint,
                                 self.translate_scale)

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        img_dir = self.data_prefix['img_path']
        out = self.translated_dir
        why = ('The "Day2Night (CS)" images are translated once, before '
               'segmentation training (Scherer et al. 2021, Table 1).')
        alt = (f'Or translate the crops on the fly instead '
               f'({self.online_hint}, model.translation=\'online\').')
        if self._is_local() and not osp.isdir(out):
            raise FileNotFoundError(
                f'{self.DATASET_NAME}: the translated folder {out!r} '
                f'(translated_dir) does not exist. {why} Write it with\n'
                f'  {self._command()}\n{alt}')
        missing = []
        for info in data_list:
            rel = osp.relpath(info['img_path'], img_dir)
            info['translated_img_path'] = osp.join(out, rel)
            if self._is_local() and not osp.isfile(
                    info['translated_img_path']):
                missing.append(info['translated_img_path'])
        if missing:
            shown = ', '.join(repr(p) for p in missing[:3])
            raise FileNotFoundError(
                f'{self.DATASET_NAME}: {len(missing)} of {len(data_list)} '
                f'images of {img_dir!r} have no translation in {out!r} '
                f'(translated_dir), e.g. {shown}. {why} tools/translate.py '
                f'skips the images already written; finish the folder with\n'
                f'  {self._command()}\n{alt}')
        return data_list
