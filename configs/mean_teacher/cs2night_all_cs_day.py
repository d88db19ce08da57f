# cs2night.py (full method, Scherer et al. 2021) with the day consistency
# pair on "all images from CS" (§4.1: "For SSL training, we utilize all
# images from CS and all nighttime images of BDD and DZ"): besides the 4
# labelled day images (supervised terms, eq. 12) every iteration draws 4
# unlabelled Cityscapes images (train, train_extra, test; see
# `mt_all_cs_day_dataset` in configs/_base_/datasets/mt_cs2night.py) and
# their offline translations for the day term of eq. 15
# (model.day_images='all', UDADataset extra stream `day`).
# cs2night.py keeps the day term on the 2975 labelled train images
# (day_images='labelled'): the paper's wording is "all images", but
# train_extra is a 44 GB download and ~20k more translations, and the paper
# does not say how the two day sources are mixed per batch.
_base_ = ['./cs2night.py']
model = dict(day_images='all')
train_dataloader = dict(
    dataset=dict(extra=dict(day=_base_.mt_all_cs_day_dataset)))
