# Cityscapes val as the target test set, scored over 19, 16 and 13 classes at once.
cityscapes_val_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
# mmseg.apis.inference_model reads the top-level test_pipeline
test_pipeline = cityscapes_val_test_pipeline
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CityscapesDataset',
        data_root='data/cityscapes',
        data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=cityscapes_val_test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='SubsetIoUMetric', subsets=dict(mIoU='all', mIoU16='16', mIoU13='13'))
test_evaluator = val_evaluator
