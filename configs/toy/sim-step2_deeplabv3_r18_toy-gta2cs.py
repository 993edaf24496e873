# SIM step 2 on the toy benchmark: step 1 + self-training on the step-1 model's pseudo
# labels (class median capped at 0.9), labelled once before training. Unlike the paper's
# step 2 (a fresh ImageNet-initialised model, reinitialize=True) the toy model has no
# pretrained weights and a short schedule, so step 2 fine-tunes the step-1 model, which
# labels the target set at round 0 (model='segmentor').
# `python tools/demo.py --method sim` chains step 1 and step 2.
_base_ = [
    '../_base_/models/sim_deeplabv3_r18_toy.py',
    '../_base_/datasets/toy_gta5_cityscapes_pseudo.py',
    '../_base_/datasets/toy_cityscapes_val.py', '../_base_/default_runtime.py',
    '../_base_/schedules/adaptsegnet_toy.py',
    '../_base_/toy_bn_stats.py'
]
model = dict(
    bn_stats={{_base_.toy_bn_stats}},
    step=2,
    reinitialize=False,
    matching_labels='augmented',
    source_checkpoint='work_dirs/demo/sim-step1/iter_100.pth')
custom_hooks = [
    dict(
        type='PseudoLabelHook',
        round_iters={{_base_.max_iters}},
        max_rounds=1,
        model='segmentor',
        policy=dict(type='median', cap=0.9, empty_value=0.0)),
    dict(type='BNStatsHook')
]
