# SFDA, Cityscapes -> NTHU Rio, DeepLabV3-R50 at 512x256 (the paper's Table 3).
_base_ = ['./deeplabv3_r50_cs2nthu_rome.py']
train_dataloader = dict(dataset=dict(data_root='data/NTHU/Rio'))
val_dataloader = dict(dataset=dict(data_root='data/NTHU/Rio'))
test_dataloader = val_dataloader
