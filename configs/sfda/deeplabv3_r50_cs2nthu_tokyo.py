# SFDA, Cityscapes -> NTHU Tokyo, DeepLabV3-R50 at 512x256 (the paper's Table 3).
_base_ = ['./deeplabv3_r50_cs2nthu_rome.py']
train_dataloader = dict(dataset=dict(data_root='data/NTHU/Tokyo'))
val_dataloader = dict(dataset=dict(data_root='data/NTHU/Tokyo'))
test_dataloader = val_dataloader
