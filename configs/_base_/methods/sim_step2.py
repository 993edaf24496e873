# SIM step 2, the method's pseudo-label hook and its knobs: step 1's schedule
# (train_sim_ssl.py uses the same) and one round of pseudo labels before training: the target set labelled once at 1024x512 by the step-1 model
# (the frozen source_model copy; model='segmentor' when step 2 fine-tunes the step-1
# model, reinitialize=False), thresholds the class median capped at 0.9 (SSL.py; a class
# never predicted gets 0 there, empty_value=0).
_base_ = ['../schedules/sim.py']
sim_label_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='PackSegInputs')
]
sim_policy = dict(type='median', cap=0.9, empty_value=0.0)
sim_hook = dict(
    type='PseudoLabelHook',
    label_pipeline=sim_label_pipeline,
    round_iters={{_base_.max_iters}},
    max_rounds=1,
    model='source_model',
    policy=sim_policy)
custom_hooks = [sim_hook]
