# PixIntraDA (Yan et al.): the schedule plus the method's pseudo-label hook and its knobs.
# Once, before the first iteration, PseudoLabelHook labels the target set with the frozen
# inter-domain model at 1024x512 (labels written at each image's own size) with
# t_k = min(class median, 0.9) (Sec. 4.1). Pixels whose confidence reaches the
# alpha-scaled threshold alpha * t_k of their arg-max class are easy (Eq. 2; the policy's
# `scale`: alpha = 0.85 for GTA5, Table 5). A config changes alpha with one line (SYNTHIA):
#   custom_hooks = [dict(_base_.pixintrada_hook, policy=dict(_base_.pixintrada_policy, scale=0.79))]
# rule='any' in the policy: Eq. 2-3 as printed (any class passing makes a pixel easy).
# See docs/methods/pixintrada.md.
_base_ = ['../schedules/pixintrada.py']
pixintrada_label_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='PackSegInputs')
]
pixintrada_policy = dict(type='median', cap=0.9, empty_value=1.0, scale=0.85)
pixintrada_hook = dict(
    type='PseudoLabelHook',
    label_pipeline=pixintrada_label_pipeline,
    round_iters={{_base_.max_iters}},
    max_rounds=1,
    model='source_model',
    policy=pixintrada_policy)
custom_hooks = [pixintrada_hook]
