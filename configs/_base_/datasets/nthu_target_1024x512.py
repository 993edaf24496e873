# Unlabelled NTHU train images of one city (Rome by default) as the adaptation target at
# 1024x512, with the Cityscapes target's pipeline and loader settings.
_base_ = ['./cityscapes_target_1024x512.py']
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='NTHUDataset',
        data_root='data/NTHU/Rome',
        split='train',
        pipeline={{_base_.cityscapes_target_1024x512_train_pipeline}}))
