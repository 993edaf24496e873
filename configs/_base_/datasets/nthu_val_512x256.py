# The SFDA protocol: every image resized to 512x256.
_base_ = ['./nthu_val_1024x512.py']
nthu_val_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(512, 256), keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
# mmseg.apis.inference_model reads the top-level test_pipeline
test_pipeline = nthu_val_test_pipeline
val_dataloader = dict(dataset=dict(pipeline=nthu_val_test_pipeline))
test_dataloader = val_dataloader
