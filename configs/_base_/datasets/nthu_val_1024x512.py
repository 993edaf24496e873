# NTHU Cross-City test set of one city (Rome by default; the per-city configs set
# data_root), scored with the papers' NTHU protocol: mIoU over the 13 classes of
# the 19-class prediction, no merging (merge='nthu' is a lenient variant).
nthu_val_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
# mmseg.apis.inference_model reads the top-level test_pipeline
test_pipeline = nthu_val_test_pipeline
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='NTHUDataset', data_root='data/NTHU/Rome', split='test', pipeline=nthu_val_test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='SubsetIoUMetric', subsets=dict(mIoU13='13'))
test_evaluator = val_evaluator
