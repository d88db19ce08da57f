from .bdd100k import BDD100KNightDataset
from .converted_dataset import ConvertedLabelDataset
from .day2night import Day2NightCityscapesDataset
from .gta import GTA5Dataset
from .pseudo_label_dataset import PseudoLabelDataset
from .semi_target import LabeledSubsetDataset, SemiTargetUDADataset
from .synthia import SynthiaDataset
from .toy import ToySegDataset
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _transforms
from .uda_dataset import UDADataset
from .unpaired import UnpairedImageDataset
from .utils import CheckedSegDataset

__all__ = [
    'BDD100KNightDataset', 'Day2NightCityscapesDataset', 'GTA5Dataset',
    'PseudoLabelDataset', 'LabeledSubsetDataset', 'SemiTargetUDADataset',
    'SynthiaDataset', 'ToySegDataset', 'UDADataset', 'UnpairedImageDataset',
    'CheckedSegDataset', 'ConvertedLabelDataset'
] + _transforms
