"""CycleGAN with feature loss (Scherer et al., 2021, §3.2 and §4.2).

Domain A = day (source), domain B = night (target). Networks:
``gen_a2b`` (G_ST), ``gen_b2a`` (G_TS), ``disc_a`` (D_S, judges A images),
``disc_b`` (D_T), EMA copies ``gen_a2b_ema`` / ``gen_b2a_ema`` (used for
translation and saved in checkpoints), and the frozen VGG feature loss.

Loss (eq. 11): L_GAN(G_ST, D_T) + L_GAN(G_TS, D_S) + λ_cyc·L_cyc
+ λ_feature·(L_feat(G_ST) + L_feat(G_TS)) [+ λ_id·L_identity].
"""
import copy
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapperDict
from mmengine.structures import BaseDataElement

from mmda.registry import MODELS
from ..uda.ema import ema_update
from ..utils import ImagePool, UpdateTracker, check_optim_wrapper, frozen
from ..utils import unwrap as _unwrap

NETWORKS = ('gen_a2b', 'gen_b2a', 'disc_a', 'disc_b')


@MODELS.register_module()
class CycleGAN(BaseModel):
    """CycleGAN trained with one optimizer per network.

    ``train_step`` per iteration (CycleGAN order): (1) generators, with the
    discriminators frozen; (2) both discriminators on real images and on
    generated images drawn from an :class:`ImagePool`. With
    ``discriminator_steps = k`` the generators are updated only every k-th
    iteration (the discriminators every iteration). After each generator
    update the EMA generators are updated:
    ``θ_ema ← d·θ_ema + (1 − d)·θ`` with ``d = ema_decay`` (or the warm start
    ``d_i = min(1 − 1/(i + 1), ema_decay)`` if ``ema_warmup``). Gradient
    clipping is configured per network in the optim wrapper configs
    (``clip_grad=dict(max_norm=5.0)``, §4.2).

    Under DDP use ``MMSeparateDistributedDataParallel``: each trainable
    network is wrapped separately; the discriminators are called unwrapped
    during the generator step (their parameters are frozen then), so no
    gradient sync is expected for them in that backward.

    Args:
        generator (dict): Generator config, used for both directions.
        discriminator (dict): Discriminator config, used for both domains.
        gan_loss (dict): Adversarial loss config (``GANLoss``, lsgan default).
        cycle_loss_weight (float): λ_cyc. Default: 10 (Zhu et al.).
        identity_loss_weight (float): Weight of ``|G_ab(b) − b|_1 +
            |G_ba(a) − a|_1`` (absolute, not relative to λ_cyc). Default 0.
        feature_loss (dict, optional): ``VGGFeatureLoss`` config (its
            ``loss_weight`` is λ_feature); ``None`` = plain CycleGAN.
        pool_size (int): Image pool size per domain. Default: 50.
        ema_decay (float): Generator EMA decay. Default: 0.9999 (§4.2).
        ema_warmup (bool): Use the warm-start decay. Default: False.
        discriminator_steps (int): Discriminator updates per generator
            update. Default: 1.
        pool_seed (int, optional): Seed for the image pools' draws.
        data_preprocessor (dict, optional): Default
            ``UnpairedDataPreprocessor`` (BGR uint8 -> RGB [-1, 1]).
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 generator: dict,
                 discriminator: dict,
                 gan_loss: dict = dict(type='GANLoss', gan_type='lsgan'),
                 cycle_loss_weight: float = 10.0,
                 identity_loss_weight: float = 0.0,
                 feature_loss: Optional[dict] = None,
                 pool_size: int = 50,
                 ema_decay: float = 0.9999,
                 ema_warmup: bool = False,
                 discriminator_steps: int = 1,
                 pool_seed: Optional[int] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='UnpairedDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if not 0.0 <= ema_decay <= 1.0:
            raise ValueError(f'CycleGAN: ema_decay must be in [0, 1], got '
                             f'{ema_decay}')
        if discriminator_steps < 1:
            raise ValueError('CycleGAN: discriminator_steps must be >= 1, got '
                             f'{discriminator_steps}')
        self.gen_a2b = MODELS.build(generator)
        self.gen_b2a = MODELS.build(generator)
        self.disc_a = MODELS.build(discriminator)
        self.disc_b = MODELS.build(discriminator)
        self.gen_a2b_ema = copy.deepcopy(self.gen_a2b).requires_grad_(False)
        self.gen_b2a_ema = copy.deepcopy(self.gen_b2a).requires_grad_(False)
        self.gan_loss = MODELS.build(gan_loss)
        self.feature_loss = (MODELS.build(feature_loss)
                             if feature_loss is not None else None)
        self.cycle_loss_weight = float(cycle_loss_weight)
        self.identity_loss_weight = float(identity_loss_weight)
        self.ema_decay = float(ema_decay)
        self.ema_warmup = bool(ema_warmup)
        self.discriminator_steps = int(discriminator_steps)
        pool_gen = None
        if pool_seed is not None:
            pool_gen = torch.Generator().manual_seed(int(pool_seed))
        self.pool_a = ImagePool(pool_size, pool_gen)  # fake A images
        self.pool_b = ImagePool(pool_size, pool_gen)  # fake B images
        # Counters are buffers so they are checkpointed and survive resume.
        self.register_buffer('ema_steps', torch.zeros((), dtype=torch.long))
        self.register_buffer('train_steps', torch.zeros((),
                                                        dtype=torch.long))
        self._updates = UpdateTracker()

    # ------------------------------------------------------------------ init
    def init_weights(self) -> None:
        """Initialise the networks, then start each EMA generator as an exact
        copy of its generator."""
        super().init_weights()
        with torch.no_grad():
            for src, dst in self._ema_pairs():
                dst.load_state_dict(src.state_dict())

    def train(self, mode: bool = True):
        """EMA generators always stay in eval mode."""
        super().train(mode)
        self.gen_a2b_ema.eval()
        self.gen_b2a_ema.eval()
        return self

    # ------------------------------------------------------------------- EMA
    def _ema_pairs(self) -> List[Tuple[nn.Module, nn.Module]]:
        return [(_unwrap(self.gen_a2b), self.gen_a2b_ema),
                (_unwrap(self.gen_b2a), self.gen_b2a_ema)]

    @torch.no_grad()
    def update_ema(self) -> float:
        """One EMA step of both generators
        (:func:`mmda.models.uda.ema_update`); returns the decay used."""
        step = int(self.ema_steps)
        for src, dst in self._ema_pairs():
            decay = ema_update(dst, src, self.ema_decay, step,
                               warmup=self.ema_warmup)
        self.ema_steps += 1
        return decay

    # ------------------------------------------------------------- training
    def generator_losses(
            self, real_a: torch.Tensor, real_b: torch.Tensor
    ) -> Tuple[Dict[str, torch.Tensor], Dict[str, torch.Tensor]]:
        """Forward both generators and compute their losses.

        Returns:
            (losses, images): ``images`` holds fake_b, fake_a, rec_a, rec_b.
        """
        fake_b = self.gen_a2b(real_a)
        fake_a = self.gen_b2a(real_b)
        rec_a = self.gen_b2a(fake_b)
        rec_b = self.gen_a2b(fake_a)
        # Discriminators are frozen here; call them unwrapped (no DDP sync).
        disc_a, disc_b = _unwrap(self.disc_a), _unwrap(self.disc_b)
        losses = OrderedDict()
        losses['loss_gan_a2b'] = self.gan_loss(disc_b(fake_b), True,
                                               is_generator=True)
        losses['loss_gan_b2a'] = self.gan_loss(disc_a(fake_a), True,
                                               is_generator=True)
        losses['loss_cycle_a'] = self.cycle_loss_weight * F.l1_loss(
            rec_a, real_a)
        losses['loss_cycle_b'] = self.cycle_loss_weight * F.l1_loss(
            rec_b, real_b)
        if self.identity_loss_weight > 0:
            losses['loss_idt_a2b'] = self.identity_loss_weight * F.l1_loss(
                self.gen_a2b(real_b), real_b)
            losses['loss_idt_b2a'] = self.identity_loss_weight * F.l1_loss(
                self.gen_b2a(real_a), real_a)
        if self.feature_loss is not None:
            losses['loss_feat_a2b'] = self.feature_loss(fake_b, real_a)
            losses['loss_feat_b2a'] = self.feature_loss(fake_a, real_b)
        images = dict(fake_b=fake_b, fake_a=fake_a, rec_a=rec_a, rec_b=rec_b)
        return losses, images

    def discriminator_losses(self, real_a: torch.Tensor, real_b: torch.Tensor,
                             fake_a: torch.Tensor,
                             fake_b: torch.Tensor) -> Dict[str, torch.Tensor]:
        """0.5·(L(D(real), 1) + L(D(fake), 0)) per discriminator (CycleGAN
        halves the discriminator objective). Real and fake go through the
        discriminator in one batch (norms are per sample)."""
        losses = OrderedDict()
        for name, disc, real, fake in (('a', self.disc_a, real_a, fake_a),
                                       ('b', self.disc_b, real_b, fake_b)):
            pred = disc(torch.cat([real, fake.detach()]))
            pred_real, pred_fake = pred[:real.shape[0]], pred[real.shape[0]:]
            losses[f'loss_disc_{name}_real'] = 0.5 * self.gan_loss(
                pred_real, True)
            losses[f'loss_disc_{name}_fake'] = 0.5 * self.gan_loss(
                pred_fake, False)
        return losses

    def _update(self, networks: List[str], optim_wrapper: OptimWrapperDict,
                loss: torch.Tensor) -> None:
        """Update each of ``networks`` with the gradient of ``loss`` through
        its own optim wrapper (its AMP loss scaler, gradient accumulation,
        clipping and step): the loss is back-propagated once per network,
        restricted to that network's parameters (``inputs=``), the graph
        being kept until the last one."""
        for i, name in enumerate(networks):
            last = i == len(networks) - 1
            kwargs = {}
            if len(networks) > 1:
                kwargs['inputs'] = [
                    p for p in _unwrap(getattr(self, name)).parameters()
                    if p.requires_grad]
                kwargs['retain_graph'] = not last
            self._updates.backward(optim_wrapper[name], loss, **kwargs)
        for name in networks:
            self._updates.step(optim_wrapper[name], 'CycleGAN')

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """Generators (discriminators frozen), then discriminators; each
        network through its own wrapper of ``optim_wrapper``."""
        check_optim_wrapper(optim_wrapper, NETWORKS, 'CycleGAN')
        self._updates.reset()
        data = self.data_preprocessor(data, True)
        real_a = data['inputs']['img_a']
        real_b = data['inputs']['img_b']
        log_vars = OrderedDict()
        update_gen = (int(self.train_steps) + 1) % self.discriminator_steps \
            == 0

        if update_gen:
            with frozen([self.disc_a, self.disc_b]):
                with optim_wrapper['gen_a2b'].optim_context(self.gen_a2b), \
                        optim_wrapper['gen_b2a'].optim_context(self.gen_b2a):
                    losses, images = self.generator_losses(real_a, real_b)
                    loss_gen, log_gen = self.parse_losses(losses)
                # the cycle losses depend on both generators
                self._update(['gen_a2b', 'gen_b2a'], optim_wrapper, loss_gen)
            log_vars['loss_gen'] = log_gen.pop('loss')
            log_vars.update(log_gen)
            fake_a, fake_b = images['fake_a'], images['fake_b']
            log_vars['ema_decay'] = torch.tensor(self.update_ema())
        else:
            with torch.no_grad():
                fake_b = _unwrap(self.gen_a2b)(real_a)
                fake_a = _unwrap(self.gen_b2a)(real_b)

        fake_a = self.pool_a.query(fake_a.detach())
        fake_b = self.pool_b.query(fake_b.detach())
        with optim_wrapper['disc_a'].optim_context(self.disc_a), \
                optim_wrapper['disc_b'].optim_context(self.disc_b):
            losses_d = self.discriminator_losses(real_a, real_b, fake_a,
                                                 fake_b)
        # each discriminator's loss depends on its own parameters only
        for name in ('a', 'b'):
            loss_d, _ = self.parse_losses(OrderedDict(
                (k, v) for k, v in losses_d.items()
                if k.startswith(f'loss_disc_{name}_')))
            self._update([f'disc_{name}'], optim_wrapper, loss_d)
        loss_disc, log_disc = self.parse_losses(losses_d)
        log_vars['loss_disc'] = log_disc.pop('loss')
        log_vars.update(log_disc)
        self.train_steps += 1
        return OrderedDict((k, v.detach()) for k, v in log_vars.items())

    # ------------------------------------------------------------ inference
    def generator(self, direction: str = 'a2b', ema: bool = True) -> nn.Module:
        """The generator used for ``direction`` ('a2b' or 'b2a')."""
        if direction not in ('a2b', 'b2a'):
            raise ValueError(f"direction must be 'a2b' or 'b2a', got "
                             f'{direction!r}')
        return getattr(self, f'gen_{direction}_ema' if ema else
                       f'gen_{direction}')

    @torch.no_grad()
    def translate(self,
                  imgs: torch.Tensor,
                  direction: str = 'a2b',
                  ema: bool = True) -> torch.Tensor:
        """Translate preprocessed images (RGB, [-1, 1])."""
        return _unwrap(self.generator(direction, ema))(imgs)

    @torch.no_grad()
    def predict(self, inputs: dict,
                data_samples: Optional[list] = None) -> List[BaseDataElement]:
        """Translations with the EMA generators for visualisation/metrics:
        one data sample per pair with ``real_a, fake_b, rec_a, real_b,
        fake_a, rec_b`` (RGB, [-1, 1], (3, H, W))."""
        real_a, real_b = inputs['img_a'], inputs['img_b']
        fake_b = self.translate(real_a, 'a2b')
        fake_a = self.translate(real_b, 'b2a')
        rec_a = self.translate(fake_b, 'b2a')
        rec_b = self.translate(fake_a, 'a2b')
        n = real_a.shape[0]
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(n)]
        outs = []
        for i, ds in enumerate(data_samples):
            out = ds if isinstance(ds, BaseDataElement) else BaseDataElement(
                metainfo=dict(ds) if isinstance(ds, dict) else {})
            out.set_data(dict(real_a=real_a[i], fake_b=fake_b[i],
                              rec_a=rec_a[i], real_b=real_b[i],
                              fake_a=fake_a[i], rec_b=rec_b[i]))
            outs.append(out)
        return outs

    def forward(self,
                inputs: Union[dict, torch.Tensor],
                data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        """``mode='tensor'``: EMA translation (a tensor -> a2b; a dict ->
        ``dict(fake_b=..., fake_a=...)``); ``'predict'``: see
        :meth:`predict`; ``'loss'``: generator and discriminator losses on
        the batch (no pool, no update)."""
        if mode == 'tensor':
            if isinstance(inputs, torch.Tensor):
                return self.translate(inputs, 'a2b')
            return dict(fake_b=self.translate(inputs['img_a'], 'a2b'),
                        fake_a=self.translate(inputs['img_b'], 'b2a'))
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'loss':
            losses, images = self.generator_losses(inputs['img_a'],
                                                   inputs['img_b'])
            losses.update(
                self.discriminator_losses(inputs['img_a'], inputs['img_b'],
                                          images['fake_a'], images['fake_b']))
            return losses
        raise ValueError(f"CycleGAN.forward: mode must be 'tensor', "
                         f"'predict' or 'loss', got {mode!r}")
