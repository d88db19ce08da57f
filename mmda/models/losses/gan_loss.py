"""Adversarial loss on discriminator logits (CycleGAN's ``GANLoss``; the
binary cross-entropy of the output-space discriminator of ASS/AdaptSegNet,
:func:`mmda.models.discriminators.output_space.output_space_adversarial_loss`,
is its ``'vanilla'`` case)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmda.registry import MODELS


def adversarial_loss(pred: torch.Tensor, target: float,
                     gan_type: str = 'vanilla') -> torch.Tensor:
    """Mean loss of discriminator logits ``pred`` against the constant label
    ``target``: binary cross-entropy with logits (``'vanilla'``) or squared
    error (``'lsgan'``).

    Args:
        pred (Tensor): discriminator logits of any shape.
        target (float): the label every element is compared with (e.g. 1
            for "real" / the target domain, 0 for "fake" / the source).
        gan_type (str): ``'vanilla'`` or ``'lsgan'``.

    Returns:
        Tensor: scalar loss.
    """
    label = torch.full_like(pred, float(target))
    if gan_type == 'lsgan':
        return F.mse_loss(pred, label)
    if gan_type == 'vanilla':
        return F.binary_cross_entropy_with_logits(pred, label)
    raise ValueError("adversarial_loss: gan_type must be 'vanilla' or "
                     f"'lsgan', got {gan_type!r}")


@MODELS.register_module()
class GANLoss(nn.Module):
    """Adversarial loss on discriminator logits.

    ``lsgan``: mean squared error to the target label (CycleGAN code
    default); ``vanilla``: binary cross-entropy with logits, the log form of
    Scherer et al. eq. 4 for the discriminator, with the non-saturating
    generator objective ``-log D(G(x))`` (Goodfellow et al.; CycleGAN code's
    'vanilla'); ``minimax``: eq. 4 literally, the same discriminator loss and
    the generator minimising ``log(1 - D(G(x)))`` (callers mark generator
    terms with ``is_generator=True``).

    Args:
        gan_type (str): ``'lsgan'``, ``'vanilla'`` or ``'minimax'``.
            Default: ``'lsgan'``.
        real_label (float): Target for real. Default: 1.0.
        fake_label (float): Target for fake. Default: 0.0.
        loss_weight (float): Multiplier. Default: 1.0.
    """

    def __init__(self,
                 gan_type: str = 'lsgan',
                 real_label: float = 1.0,
                 fake_label: float = 0.0,
                 loss_weight: float = 1.0):
        super().__init__()
        if gan_type not in ('lsgan', 'vanilla', 'minimax'):
            raise ValueError("GANLoss: gan_type must be 'lsgan', 'vanilla' "
                             f"or 'minimax', got {gan_type!r}")
        self.gan_type = gan_type
        self.real_label = float(real_label)
        self.fake_label = float(fake_label)
        self.loss_weight = float(loss_weight)

    def forward(self, pred: torch.Tensor, target_is_real: bool,
                is_generator: bool = False) -> torch.Tensor:
        if self.gan_type == 'minimax' and is_generator:
            if not target_is_real:
                raise ValueError('GANLoss(minimax): a generator term '
                                 'targets "real" (target_is_real=True)')
            # eq. 4: G minimises E[log(1 - D(G(x)))] = -BCE(D(G(x)), fake)
            return -self.loss_weight * adversarial_loss(
                pred, self.fake_label, 'vanilla')
        target = self.real_label if target_is_real else self.fake_label
        mode = 'lsgan' if self.gan_type == 'lsgan' else 'vanilla'
        return self.loss_weight * adversarial_loss(pred, target, mode)
