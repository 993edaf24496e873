# Toy target val set (Cityscapes layout), scored over 19, 16 and 13 classes.
_base_ = ['./cityscapes_val_1024x512.py']
toy_cityscapes_val_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
# mmseg.apis.inference_model reads the top-level test_pipeline
test_pipeline = toy_cityscapes_val_test_pipeline
val_dataloader = dict(
    batch_size=4, num_workers=1,
    dataset=dict(data_root='data/toy/cityscapes', pipeline=toy_cityscapes_val_test_pipeline))
test_dataloader = val_dataloader
