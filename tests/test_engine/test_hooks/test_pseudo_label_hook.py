"""PseudoLabelHook: thresholds from histograms, rounds, resume, memory."""
import gc
import os
import os.path as osp
import tracemalloc

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmseg_sfda  # noqa: F401
from mmseg.registry import HOOKS
from mmseg_sfda.engine.hooks import pseudo_label_hook as plh
from mmseg_sfda.engine.train_loader_restart import pseudo_label_transforms
from mmseg_sfda.pseudo_labels import dataset_scorer
from mmseg_sfda.utils.checkpoint_compat import load_checkpoint_file
from mmseg_sfda.utils.pseudo_label_io import read_confidence, read_json, read_label
from tiny_models import tiny_segmentor_cfg
from runner_utils import Interrupted  # (its module registers InterruptHook)

H, W = 32, 64
NUM_CLASSES = 4


def make_images(root, n: int, seed: int = 0, size=(H, W)) -> str:
    img_dir = osp.join(root, 'leftImg8bit', 'train', 'c')
    os.makedirs(img_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        img = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
        img[:, : size[1] // 2] //= 3  # some structure: darker left half
        cv2.imwrite(osp.join(img_dir, f'c_000000_{i:06d}_leftImg8bit.png'), img)
    return root


def dataset(root, pipeline):
    return dict(type='CityscapesDataset', data_root=root,
                data_prefix=dict(img_path='leftImg8bit/train'), pipeline=pipeline)


def segmentor_cfg():
    cfg = tiny_segmentor_cfg(size=(H, W), num_classes=NUM_CLASSES)
    cfg.decode_head.dropout_ratio = 0.  # no RNG in the step: resume is exact
    return cfg


def runner_cfg(root, work_dir, iters=6, hook=None, interval=2) -> Config:
    label_loader = dict(batch_size=3, num_workers=0,
                        sampler=dict(type='DefaultSampler', shuffle=False),
                        dataset=dataset(root, [dict(type='LoadImageFromFile'),
                                               dict(type='PackSegInputs')]))
    hook_cfg = dict(type='PseudoLabelHook', dataloader=label_loader, round_iters=2,
                    max_rounds=2, num_vis=2,
                    policy=dict(type='class_portion',
                                portion=dict(start=0.2, step=0.05, max_portion=0.5)))
    hook_cfg.update(hook or {})
    return Config(dict(
        default_scope='mmseg',
        custom_imports=dict(imports=['mmseg_sfda'], allow_failed_imports=False),
        work_dir=work_dir,
        model=dict(type='SelfTrainingSegmentor',
                   segmentor=segmentor_cfg()),
        train_dataloader=dict(
            batch_size=2, num_workers=0, persistent_workers=False,
            sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
            dataset=dataset(root, [dict(type='LoadImageFromFile'),
                                   dict(type='LoadPseudoLabel'),
                                   dict(type='RandomFlip', prob=0.5),
                                   dict(type='PackSegInputs')])),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=iters),
        optim_wrapper=dict(type='OptimWrapper',
                           optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=interval),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[hook_cfg],
        randomness=dict(seed=0),
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        log_level='WARNING'))


def hook_of(runner):
    return next(h for h in runner.hooks if type(h).__name__ == 'PseudoLabelHook')


def model_outputs(runner, root):
    """Independent reference: the labelling model's softmax on every image."""
    model = runner.model.segmentor
    model.eval()
    loader = Runner.build_dataloader(hook_of(runner).dataloader_cfg)
    out = {}
    with torch.no_grad():
        for batch in loader:
            for res in model.test_step(batch):
                stem = osp.splitext(osp.basename(res.img_path))[0]
                out[stem] = res.seg_logits.data.softmax(0).numpy()
    return out


def labelled_runner(root, work_dir, **hook):
    """A runner with initialised weights whose hook labelled round 0 (no training)."""
    runner = Runner.from_cfg(runner_cfg(root, work_dir, iters=1,
                                        hook=dict(max_rounds=1, **hook)))
    runner._init_model_weights()
    hook = hook_of(runner)
    hook.out_dir = osp.join(work_dir, 'pseudo_labels')
    hook._build_loader(runner)
    hook.label_round(runner, 0)
    return runner


def test_round_labels_match_exact_class_quantiles(tmp_path):
    root = make_images(str(tmp_path / 'cs'), 9)
    runner = labelled_runner(root, str(tmp_path / 'work'), keep_scores=True)
    hook = hook_of(runner)
    round_dir = osp.join(str(tmp_path / 'work'), 'pseudo_labels', 'round_0')
    assert osp.isfile(osp.join(round_dir, 'DONE'))
    assert osp.isfile(osp.join(round_dir, 'vis.png'))
    probs = model_outputs(runner, root)  # the same weights, inference done here
    conf = {k: p.max(0) for k, p in probs.items()}
    pred = {k: p.argmax(0) for k, p in probs.items()}
    stats = read_json(osp.join(round_dir, 'class_stats.json'))
    for c in range(NUM_CLASSES):
        values = np.sort(np.concatenate([conf[k][pred[k] == c] for k in probs]))[::-1]
        rank = int(np.floor(0.2 * len(values)))
        exact = 1.0 if rank == 0 else values[rank - 1]
        assert abs(stats['thresholds'][c] - exact) <= 1e-3 + 1e-5, c
    assert hook.thresholds == [pytest.approx(stats['thresholds'])]
    for k in probs:
        label = read_label(osp.join(round_dir, 'labels', k + '.png'))
        stored = read_confidence(osp.join(round_dir, 'confidence', k + '.png'))
        np.testing.assert_allclose(stored, conf[k], atol=1e-4)
        thr = np.asarray(stats['thresholds'])[pred[k]]
        expected = np.where(stored >= thr, pred[k], 255)
        np.testing.assert_array_equal(label, expected)
    kept = sum(float((read_label(osp.join(round_dir, 'labels', k + '.png')) != 255).mean())
               for k in probs) / len(probs)
    assert 0.15 < kept < 0.3  # about 20% of the pixels (portion of round 0)


def test_rounds_follow_the_self_paced_schedule(tmp_path):
    root = make_images(str(tmp_path / 'cs'), 6)
    runner = Runner.from_cfg(runner_cfg(root, str(tmp_path / 'work'), iters=6))
    runner.train()
    hook = hook_of(runner)
    work = str(tmp_path / 'work')
    stats = [read_json(osp.join(work, 'pseudo_labels', f'round_{r}', 'class_stats.json'))
             for r in range(2)]
    assert [s['round'] for s in stats] == [0, 1]
    assert not osp.exists(osp.join(work, 'pseudo_labels', 'round_2'))  # max_rounds=2
    assert stats[0]['policy']['portion']['start'] == 0.2
    # round 1 keeps more (25% vs 20% per class)
    assert stats[1]['kept_total'] > stats[0]['kept_total']
    transform = next(pseudo_label_transforms(runner.train_dataloader.dataset))
    assert transform.pseudo_label_dir == osp.join(work, 'pseudo_labels', 'round_1')
    assert hook.done_round == 1


def mtimes(folder):
    return {f: os.stat(osp.join(folder, f)).st_mtime_ns for f in sorted(os.listdir(folder))}


def test_resume_between_rounds_does_not_relabel_and_ends_the_same(tmp_path):
    root = make_images(str(tmp_path / 'cs'), 6)
    Runner.from_cfg(runner_cfg(root, str(tmp_path / 'full'))).train()
    killed = str(tmp_path / 'killed')
    cfg = runner_cfg(root, killed)
    cfg.custom_hooks.append(dict(type='InterruptHook', at=5))
    with pytest.raises(Interrupted):
        Runner.from_cfg(cfg).train()
    before = mtimes(osp.join(killed, 'pseudo_labels', 'round_1', 'labels'))
    cfg = runner_cfg(root, killed)
    cfg.resume = True
    Runner.from_cfg(cfg).train()
    assert mtimes(osp.join(killed, 'pseudo_labels', 'round_1', 'labels')) == before
    full = load_checkpoint_file(str(tmp_path / 'full' / 'iter_6.pth'))
    resumed = load_checkpoint_file(osp.join(killed, 'iter_6.pth'))
    assert resumed['pseudo_label_hook'] == full['pseudo_label_hook']
    for k, v in full['state_dict'].items():
        torch.testing.assert_close(resumed['state_dict'][k], v, msg=k)


def test_killed_while_labelling_reuses_finished_images(tmp_path, monkeypatch):
    root = make_images(str(tmp_path / 'cs'), 9)
    Runner.from_cfg(runner_cfg(root, str(tmp_path / 'full'))).train()
    work = str(tmp_path / 'killed')
    written = []
    real = dataset_scorer.write_confidence_raw

    def failing(dst, conf):
        if '/round_1/' in dst and len(written) == 5:
            raise Interrupted
        real(dst, conf)
        if '/round_1/' in dst:
            written.append(dst)

    monkeypatch.setattr(dataset_scorer, 'write_confidence_raw', failing)
    with pytest.raises(Interrupted):
        Runner.from_cfg(runner_cfg(root, work)).train()
    monkeypatch.setattr(dataset_scorer, 'write_confidence_raw', real)
    conf_dir = osp.join(work, 'pseudo_labels', 'round_1', 'confidence')
    done = mtimes(conf_dir)
    assert len(done) == 5 and not osp.exists(osp.join(work, 'pseudo_labels', 'round_1',
                                                       'DONE'))
    cfg = runner_cfg(root, work, hook=dict(keep_scores=True))
    cfg.resume = True
    Runner.from_cfg(cfg).train()
    after = mtimes(conf_dir)
    assert len(after) == 9
    assert all(after[f] == t for f, t in done.items())  # not relabelled

    # by default a finished round keeps only its labels (no LoadPseudoLabel reads
    # confidences)
    assert not osp.exists(str(tmp_path / 'full' / 'pseudo_labels' / 'round_1' /
                              'confidence'))
    full_dir = str(tmp_path / 'full' / 'pseudo_labels' / 'round_1' / 'labels')
    for f in os.listdir(full_dir):
        np.testing.assert_array_equal(
            read_label(osp.join(work, 'pseudo_labels', 'round_1', 'labels', f)),
            read_label(osp.join(full_dir, f)))


def test_labelling_memory_does_not_grow_with_the_target_set(tmp_path):
    """Python-heap peak (NumPy arrays included) of a labelling round for 6 and for 60
    images. Keeping every image's confidence map, as CRST does, would add 54 float32
    maps; the measured difference must stay below half of that. A first round outside
    tracing absorbs one-off allocations (imports, registries, thread pools)."""
    size = (128, 256)
    per_image = size[0] * size[1] * 4  # one float32 confidence map
    labelled_runner(make_images(str(tmp_path / 'warm'), 2, size=size),
                    str(tmp_path / 'w_warm'), num_vis=0)
    peaks = {}
    for n in (6, 60):
        root = make_images(str(tmp_path / f'cs{n}'), n, size=size)
        gc.collect()
        tracemalloc.start()
        labelled_runner(root, str(tmp_path / f'w{n}'), num_vis=0)
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks[60] - peaks[6] < 0.5 * 54 * per_image, (peaks, per_image)


def test_clear_errors(tmp_path):
    root = make_images(str(tmp_path / 'cs'), 3)
    cfg = runner_cfg(root, str(tmp_path / 'w'))
    cfg.train_dataloader.dataset.pipeline = [dict(type='LoadImageFromFile'),
                                             dict(type='PackSegInputs')]
    with pytest.raises(ValueError, match='LoadPseudoLabel'):
        Runner.from_cfg(cfg).train()
    cfg = runner_cfg(root, str(tmp_path / 'w2'))
    cfg.train_dataloader.num_workers = 1
    cfg.train_dataloader.persistent_workers = True
    with pytest.raises(ValueError, match='persistent_workers'):
        Runner.from_cfg(cfg).train()
    with pytest.raises(ValueError, match='policy'):
        plh.PseudoLabelHook(dataloader={}, round_iters=1, policy=dict(type='nope'))
    with pytest.raises(ValueError, match='exactly one'):
        plh.PseudoLabelHook(dataloader={})


@pytest.mark.parametrize('policy', [
    dict(type='class_portion', portion=0.5, normalize=True),  # CBST Eq. 8
    dict(type='median', rule='any', scale=0.85)])  # PixIntraDA Eq. 2-3
def test_probability_rules_label_from_every_class_score(tmp_path, policy):
    """Policies that select on every class's score label each image as the policy
    does on the model's softmax, with the round's thresholds."""
    root = make_images(str(tmp_path / 'cs'), 4)
    runner = labelled_runner(root, str(tmp_path / 'work'), policy=policy)
    hook = hook_of(runner)
    thr = torch.tensor(hook.thresholds[0])
    round_dir = osp.join(str(tmp_path / 'work'), 'pseudo_labels', 'round_0')
    argmax_differs = 0
    for stem, prob in model_outputs(runner, root).items():
        label = read_label(osp.join(round_dir, 'labels', stem + '.png'))
        prob = torch.from_numpy(prob)
        np.testing.assert_array_equal(label, hook.rule.select_probabilities(prob, thr))
        argmax_differs += int(((label != 255) & (label != prob.argmax(0).numpy())).sum())
    if policy.get('normalize'):  # Eq. 8 relabels pixels of this untrained model (its
        # Eq. 2-3 labels happen to equal the arg-max ones: see tests/test_pseudo_labels)
        assert argmax_differs > 0


@HOOKS.register_module(force=True)
class RecordImagesHook(Hook):
    def __init__(self) -> None:
        self.seen = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.seen.append([s.img_path for s in data_batch['data_samples']])


def test_worker_processes_see_each_round_and_the_image_stream_continues(tmp_path):
    """With workers the loader restarts at every round; the sampler must continue
    where it was (same images in the same order as without workers)."""
    root = make_images(str(tmp_path / 'cs'), 6)
    streams = []
    for workers in (0, 1):
        cfg = runner_cfg(root, str(tmp_path / f'w{workers}'))
        cfg.train_dataloader.num_workers = workers
        cfg.custom_hooks.append(dict(type='RecordImagesHook'))
        runner = Runner.from_cfg(cfg)
        runner.train()
        streams.append(next(h for h in runner.hooks
                            if type(h).__name__ == 'RecordImagesHook').seen)
    assert len(streams[0]) == 6
    assert streams[1] == streams[0]


def test_default_loader_is_the_pseudo_labelled_training_set(tmp_path):
    root = make_images(str(tmp_path / 'cs'), 5)
    cfg = runner_cfg(root, str(tmp_path / 'w'), iters=2, hook=dict(max_rounds=1))
    del cfg.custom_hooks[0]['dataloader']
    runner = Runner.from_cfg(cfg)
    runner.train()
    loader = hook_of(runner)._loader
    assert len(loader.dataset) == 5 and loader.batch_size == 1
    assert [type(t).__name__ for t in loader.dataset.pipeline.transforms] == \
        ['LoadImageFromFile', 'PackSegInputs']
    labels = os.listdir(osp.join(str(tmp_path / 'w'), 'pseudo_labels', 'round_0',
                                 'labels'))
    assert len(labels) == 5


def test_policy_scale_multiplies_the_thresholds(tmp_path):
    """PixIntraDA's alpha: thresholds alpha * t_k."""
    root = make_images(str(tmp_path / 'cs'), 4)
    full = labelled_runner(root, str(tmp_path / 'a'),
                           policy=dict(type='median', cap=0.9))
    scaled = labelled_runner(root, str(tmp_path / 'b'),
                             policy=dict(type='median', cap=0.9, scale=0.5))
    t_full, t_scaled = hook_of(full).thresholds[0], hook_of(scaled).thresholds[0]
    assert t_scaled == pytest.approx([0.5 * t for t in t_full])
    kept = [read_json(osp.join(str(tmp_path / d), 'pseudo_labels', 'round_0',
                               'class_stats.json'))['kept_total'] for d in 'ab']
    assert kept[1] > kept[0]
    with pytest.raises(ValueError, match='scale'):
        plh.PseudoLabelHook(round_iters=1, policy=dict(type='median', scale=1.5))


@pytest.mark.parametrize('at', [
    pytest.param(3, id='checkpoint-at-round-start', marks=pytest.mark.slow),  # ~20 s
    pytest.param(5, id='inside-round')])
def test_resume_with_worker_processes_is_exact(tmp_path, at):
    """num_workers=1: the loader restarts at every round with fresh workers (mmengine's
    worker seeds); a resumed run restarts where the round did and fetches the batches
    since, so the workers' random flips continue as in the uninterrupted run."""
    root = make_images(str(tmp_path / 'cs'), 6)

    def cfg_of(work):
        cfg = runner_cfg(root, str(work))
        cfg.train_dataloader.num_workers = 1
        cfg.default_hooks.rng_state = dict(type='RNGStateHook')
        return cfg

    Runner.from_cfg(cfg_of(tmp_path / 'full')).train()
    cfg = cfg_of(tmp_path / 'killed')
    cfg.custom_hooks.append(dict(type='InterruptHook', at=at))
    with pytest.raises(Interrupted):
        Runner.from_cfg(cfg).train()
    cfg = cfg_of(tmp_path / 'killed')
    cfg.resume = True
    Runner.from_cfg(cfg).train()
    full = load_checkpoint_file(str(tmp_path / 'full' / 'iter_6.pth'))['state_dict']
    resumed = load_checkpoint_file(str(tmp_path / 'killed' / 'iter_6.pth'))['state_dict']
    for k, v in full.items():
        assert torch.equal(resumed[k], v), k
