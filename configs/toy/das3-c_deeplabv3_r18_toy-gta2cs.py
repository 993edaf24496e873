# DAS3 stage c (information propagation) on the toy benchmark: the easiest 30% of the
# target images by mean entropy learn from the stage-b model's pseudo labels, ClassMixed
# pairs of hard images from the model's own mixed predictions.
_base_ = ['./das3-b_deeplabv3_r18_toy-gta2cs.py']
model = dict(
    stage='c',
    source_checkpoint='work_dirs/das3-b_deeplabv3_r18_toy-gta2cs/iter_150.pth')
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadPseudoLabel', with_split=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputsWithExtras')
    ]))
custom_hooks = [
    dict(
        type='PseudoLabelHook',
        round_epochs=1,
        max_rounds=1,
        model='source_model',
        policy=dict(type='top_k', k=0.65),
        image_split=dict(easy_portion=0.3)),
    dict(type='BNStatsHook')
]
