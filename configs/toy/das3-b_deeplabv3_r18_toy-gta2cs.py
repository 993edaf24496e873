# DAS3 stage b (bi-directional self-training) on the toy benchmark: positive pseudo
# labels (class-level top 65%) and negative ones (p < 0.05) from the frozen stage-a
# model; classifier learning rate x10.
_base_ = [
    '../_base_/models/deeplabv3_r18-d8_toy.py',
    '../_base_/datasets/toy_cityscapes_pseudo_target.py',
    '../_base_/datasets/toy_cityscapes_val.py', '../_base_/default_runtime.py',
    '../_base_/schedules/self_training_toy.py',
    '../_base_/toy_bn_stats.py'
]
model = dict(
    bn_stats={{_base_.toy_bn_stats}},
    _delete_=True,
    type='DAS3Segmentor',
    stage='b',
    segmentor={{_base_.model}},
    source_checkpoint='work_dirs/das3-a_deeplabv3_r18_toy-gta2cs/iter_100.pth')
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel')
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadPseudoLabel', with_negative=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputsWithExtras')
    ]))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'conv_seg': dict(lr_mult=10.)}))
# the labelling model is frozen: one round gives the labels of every epoch
custom_hooks = [
    dict(
        type='PseudoLabelHook',
        round_epochs=1,
        max_rounds=1,
        model='source_model',
        policy=dict(type='top_k', k=0.65),
        negative_threshold=0.05),
    dict(type='BNStatsHook')
]
