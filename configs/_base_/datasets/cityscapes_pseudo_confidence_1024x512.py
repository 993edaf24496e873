# Pseudo-labelled Cityscapes train images with the labelling model's confidence (max
# probability; PixIntraDA's continuous index, Eq. 7), target only, 1024x512, batch 4.
_base_ = ['./cityscapes_pseudo_target_1024x512.py']
cityscapes_pseudo_confidence_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPseudoLabel', with_confidence=True),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputsWithExtras')
]
train_dataloader = dict(dataset=dict(pipeline=cityscapes_pseudo_confidence_pipeline))
