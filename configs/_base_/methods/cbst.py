# CBST (Zou et al.): the schedule plus the method's pseudo-label hook and its knobs.
# PseudoLabelHook labels the pseudo-labelled training set at each round (every two
# target epochs), at the training scale (1024x512; labels written at each image's own
# size), keeping per class the top portion of its pixels (Alg. 2): 20%, +5% a round, at
# most 50% (Sec. 4.3). A config changes a knob with one line, e.g. ST:
#   custom_hooks = [dict(_base_.cbst_hook, policy=dict(_base_.cbst_policy, type='global_portion'))]
_base_ = ['../schedules/cbst.py']
cbst_label_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='PackSegInputs')
]
cbst_policy = dict(type='class_portion', portion=dict(start=0.2, step=0.05, max_portion=0.5))
cbst_hook = dict(
    type='PseudoLabelHook',
    label_pipeline=cbst_label_pipeline,
    round_epochs=2,
    max_rounds={{_base_.cbst_rounds}},
    policy=cbst_policy)
custom_hooks = [cbst_hook]
