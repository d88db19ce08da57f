"""mmda configs and checkpoints with MMSegmentation's own inference APIs
(``init_model`` / ``inference_model`` / ``show_result_pyplot`` as in mmseg's
``demo/image_demo.py``, ``MMSegInferencer``, ``tools/test.py --show-dir``),
``tools/export.py`` to a plain mmseg model, and the TensorBoard switch
(a visualizer backend receives the training panels)."""
import copy
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tests.helpers import ROOT

DACS_CFG = osp.join(ROOT, 'configs', 'dacs', 'toy_dacs.py')
ITERS = 4


def _short_cfg(path, work_dir, name, iters=ITERS):
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    cfg.work_dir = work_dir
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters + 1
    cfg.train_cfg.val_begin = iters + 1  # no validation after training
    for s in cfg.param_scheduler:
        s['end'] = iters
    cfg.train_dataloader.batch_size = 2
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    for key in ('val_dataloader', 'test_dataloader'):
        cfg[key].num_workers = 0
        cfg[key].persistent_workers = False
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=iters)
    cfg.visualizer.name = name
    return cfg


@pytest.fixture(scope='module')
def toy_ckpt(tmp_path_factory):
    """DACS trained for a few iterations on the toy benchmark: its config
    file, checkpoint, a target val image and the trained model."""
    from mmengine.runner import Runner
    work_dir = str(tmp_path_factory.mktemp('toy_dacs'))
    cfg = _short_cfg(DACS_CFG, work_dir, 'infer_api_train')
    cfg_path = osp.join(work_dir, 'toy_dacs.py')
    cfg.dump(cfg_path)
    runner = Runner.from_cfg(cfg)
    runner.train()
    ckpt = osp.join(work_dir, f'iter_{ITERS}.pth')
    assert osp.isfile(ckpt)
    img = runner.test_dataloader.dataset[0]['data_samples'].img_path
    model = runner.model.eval()
    return dict(cfg=cfg_path, ckpt=ckpt, img=img, model=model,
                work_dir=work_dir)


def _logits(result):
    return result.seg_logits.data


def _uda_toy_configs():
    out = []
    for path in sorted(glob.glob(osp.join(ROOT, 'configs', '*', 'toy_*.py'))):
        if 'cyclegan' in path:
            continue  # an image translator, not a segmentor
        out.append(osp.relpath(path, ROOT))
    return out


@pytest.mark.parametrize('config', _uda_toy_configs())
def test_init_model_builds_every_toy_config(config):
    """mmseg's init_model sets ``model.pretrained = None``: every UDA
    segmentor (DACS, MeanTeacherUDA, ASS, SIE's, BaseUDASegmentor) takes it."""
    from mmseg.apis import init_model
    model = init_model(osp.join(ROOT, config), device='cpu')
    assert not model.training
    assert model.num_classes == 19


def test_uda_segmentor_rejects_a_real_pretrained():
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmda.registry import MODELS
    cfg = Config.fromfile(DACS_CFG)
    with pytest.raises(ValueError, match='DACS.*model.segmentor'), \
            DefaultScope.overwrite_default_scope('mmda'):
        MODELS.build(dict(cfg.model, pretrained='ckpt.pth'))


def test_init_model_and_inference_model(toy_ckpt, tmp_path):
    """The demo/image_demo.py path: init_model -> inference_model ->
    show_result_pyplot, with the trained weights (same logits as the model
    that was trained)."""
    from mmseg.apis import inference_model, init_model, show_result_pyplot
    model = init_model(toy_ckpt['cfg'], toy_ckpt['ckpt'], device='cpu')
    assert type(model).__name__ == 'DACS'
    result = inference_model(model, toy_ckpt['img'])
    assert result.pred_sem_seg.data.shape == (1, 64, 128)
    trained = toy_ckpt['model']
    trained.cfg = model.cfg
    expected = inference_model(trained, toy_ckpt['img'])
    assert torch.allclose(_logits(result), _logits(expected), atol=1e-5)
    # a batch of arrays, as image_demo.py callers do with video frames
    import cv2
    arr = cv2.imread(toy_ckpt['img'])
    batch = inference_model(model, [arr, arr])
    assert torch.equal(batch[0].pred_sem_seg.data, result.pred_sem_seg.data)
    out = str(tmp_path / 'vis.png')
    drawn = show_result_pyplot(model, toy_ckpt['img'], result, show=False,
                               out_file=out)
    assert osp.isfile(out) and drawn.shape == (64, 128, 3)


def test_mmseg_inferencer_with_scope(toy_ckpt, tmp_path):
    from mmseg.apis import MMSegInferencer, inference_model, init_model
    inferencer = MMSegInferencer(model=toy_ckpt['cfg'],
                                 weights=toy_ckpt['ckpt'], device='cpu',
                                 scope='mmda')
    out = inferencer(toy_ckpt['img'], out_dir=str(tmp_path),
                     return_datasamples=True)
    pred = out.pred_sem_seg.data  # one SegDataSample
    model = init_model(toy_ckpt['cfg'], toy_ckpt['ckpt'], device='cpu')
    expected = inference_model(model, toy_ckpt['img']).pred_sem_seg.data
    assert torch.equal(pred, expected)
    assert glob.glob(str(tmp_path / 'vis' / '*.png'))


@pytest.mark.slow
def test_tools_test_show_dir(toy_ckpt, tmp_path):
    show_dir = tmp_path / 'show'
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'test.py'),
         toy_ckpt['cfg'], toy_ckpt['ckpt'], '--show-dir', str(show_dir),
         '--work-dir', str(tmp_path / 'work'),
         '--cfg-options', 'test_dataloader.dataset.indices=3'],
        env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    pngs = glob.glob(str(show_dir / '**' / '*.png'), recursive=True)
    assert len(pngs) == 3, (pngs, proc.stdout[-2000:])
    assert 'mIoU' in proc.stdout + proc.stderr


def _export_module():
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    try:
        import export
    finally:
        sys.path.pop(0)
    return export


def test_export_student_matches_uda_model(toy_ckpt, tmp_path):
    from mmseg.apis import inference_model, init_model
    from mmseg.models import EncoderDecoder
    export = _export_module()
    cfg_path, ckpt_path, found = export.export(
        toy_ckpt['cfg'], toy_ckpt['ckpt'], str(tmp_path))
    assert osp.basename(cfg_path) == 'toy_dacs_student.py'
    assert found == ['DLV2Head', 'ToySegDataset']
    text = open(cfg_path).read()
    assert "default_scope = 'mmseg'" in text
    for word in ('DACS', 'UDADataPreProcessor', 'custom_imports',
                 'train_dataloader', 'EMATeacherHook'):
        assert word not in text, word
    exported = init_model(cfg_path, ckpt_path, device='cpu')
    assert type(exported) is EncoderDecoder
    assert exported.dataset_meta['classes'][0] == 'road'
    uda = init_model(toy_ckpt['cfg'], toy_ckpt['ckpt'], device='cpu')
    a = inference_model(exported, toy_ckpt['img'])
    b = inference_model(uda, toy_ckpt['img'])
    assert torch.equal(_logits(a), _logits(b))
    assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)


def test_export_teacher_and_plain_mmseg_inferencer(toy_ckpt, tmp_path):
    """--model teacher exports the EMA teacher (different weights after
    training); the exported config runs in MMSegInferencer's default scope."""
    from mmseg.apis import MMSegInferencer, inference_model, init_model
    export = _export_module()
    assert export.main([toy_ckpt['cfg'], toy_ckpt['ckpt'], str(tmp_path),
                        '--model', 'teacher']) == 0
    cfg_path = str(tmp_path / 'toy_dacs_teacher.py')
    ckpt_path = str(tmp_path / 'toy_dacs_teacher.pth')
    teacher = inference_model(init_model(cfg_path, ckpt_path, device='cpu'),
                              toy_ckpt['img'])
    uda_teacher = init_model(toy_ckpt['cfg'], toy_ckpt['ckpt'], device='cpu',
                             cfg_options={'model.eval_model': 'teacher'})
    expected = inference_model(uda_teacher, toy_ckpt['img'])
    assert torch.equal(_logits(teacher), _logits(expected))
    student = inference_model(
        init_model(toy_ckpt['cfg'], toy_ckpt['ckpt'], device='cpu'),
        toy_ckpt['img'])
    assert not torch.equal(_logits(teacher), _logits(student))
    inferencer = MMSegInferencer(model=cfg_path, weights=ckpt_path,
                                 device='cpu')  # default scope: 'mmseg'
    pred = inferencer(toy_ckpt['img'], return_datasamples=True)
    assert torch.equal(pred.pred_sem_seg.data, teacher.pred_sem_seg.data)


def test_export_defaults_to_the_reported_network_and_checks_input(tmp_path):
    """MeanTeacherUDA reports its teacher; bad input names the file."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmda.registry import MODELS
    export = _export_module()
    mt_cfg = osp.join(ROOT, 'configs', 'mean_teacher', 'toy_full.py')
    cfg = Config.fromfile(mt_cfg)
    with DefaultScope.overwrite_default_scope('mmda'):
        model = MODELS.build(copy.deepcopy(cfg.model))
    ckpt = str(tmp_path / 'mt.pth')
    torch.save(dict(meta={}, state_dict=model.state_dict()), ckpt)
    cfg_path, ckpt_path, _ = export.export(mt_cfg, ckpt, str(tmp_path / 'o'))
    assert cfg_path.endswith('toy_full_teacher.py')
    with pytest.raises(ValueError, match='no `student.\\*` weights'):
        bad = str(tmp_path / 'bad.pth')
        torch.save(dict(meta={}, state_dict={'x.weight': torch.zeros(1)}),
                   bad)
        export.export(DACS_CFG, bad, str(tmp_path / 'o'), 'student')
    plain = osp.join(ROOT, 'configs', 'source_only', 'toy_source_only.py')
    with pytest.raises(ValueError, match='toy_source_only.py.*segmentor'):
        export.export(plain, ckpt, str(tmp_path / 'o'))


def test_visualizer_backend_switch_receives_training_panels(tmp_path):
    """The TensorBoard switch of docs/visualization.md replaces the
    visualizer's backend by --cfg-options; the UDA panels reach it (here a
    recording backend instead of TensorboardVisBackend, an optional extra)."""
    from mmengine.runner import Runner
    from mmengine.visualization import BaseVisBackend

    from mmda.registry import VISBACKENDS
    calls = []

    @VISBACKENDS.register_module(force=True)
    class RecordingVisBackend(BaseVisBackend):
        def _init_env(self):
            pass

        @property
        def experiment(self):
            return self

        def add_image(self, name, image, step=0, **kwargs):
            calls.append((name, image.shape, step))

        def add_scalars(self, scalar_dict, step=0, file_path=None, **kw):
            calls.append(('scalars', tuple(sorted(scalar_dict)), step))

    cfg = _short_cfg(DACS_CFG, str(tmp_path), 'infer_api_vis', iters=2)
    cfg.merge_from_dict(
        {'visualizer.vis_backends.0.type': 'RecordingVisBackend',
         'custom_hooks.1.interval': 1,
         'default_hooks.logger.interval': 1})
    assert cfg.custom_hooks[1].type == 'UDAVisualizationHook'
    Runner.from_cfg(cfg).train()
    panels = [c for c in calls if c[0] != 'scalars']
    assert panels and panels[0][1][2] == 3, calls
    assert any(c[0] == "scalars" for c in calls), calls
