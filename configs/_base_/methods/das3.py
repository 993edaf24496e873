# DAS3 (Wang et al.): the schedule plus the pseudo-label hooks of stages b and c with their
# knobs (K, lambda_neg, the easy ratio) and the stages' training pipelines. A stage config
# sets `custom_hooks = [{{_base_.das3_b_hook}}]`; a knob is one line, e.g. K = 50%:
#   custom_hooks = [dict(_base_.das3_b_hook, policy=dict(_base_.das3_policy, k=0.5))]
_base_ = ['../schedules/das3.py']
# the target set is labelled at the training scale by the frozen previous-stage model
das3_label_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='PackSegInputs')
]
# class-level top K = 65% (Eq. 4-5, Sec. 4.1), stages b and c
das3_policy = dict(type='top_k', k=0.65)
# stage b: positive (class-level top 65%, Eq. 4-5) and negative (p < 0.05, Eq. 6)
# labels; the labelling model is frozen, so one round serves every epoch
das3_b_hook = dict(
    type='PseudoLabelHook',
    label_pipeline=das3_label_pipeline,
    round_epochs=1,
    max_rounds=1,
    model='source_model',
    policy=das3_policy,
    negative_threshold=0.05)
das3_b_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPseudoLabel', with_negative=True),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputsWithExtras')
]
# stage c: the easiest 30% of the images by mean entropy (Eq. 9) keep their labels
das3_c_hook = dict(
    type='PseudoLabelHook',
    label_pipeline=das3_label_pipeline,
    round_epochs=1,
    max_rounds=1,
    model='source_model',
    policy=das3_policy,
    image_split=dict(easy_portion=0.3))
das3_c_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPseudoLabel', with_split=True),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputsWithExtras')
]
