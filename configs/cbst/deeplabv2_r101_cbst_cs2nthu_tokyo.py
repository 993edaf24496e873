# CBST, Cityscapes -> NTHU Tokyo, DeepLab-V2-R101.
_base_ = ['./deeplabv2_r101_cbst_cs2nthu_rome.py']
train_dataloader = dict(dataset=dict(target=dict(data_root='data/NTHU/Tokyo')))
val_dataloader = dict(dataset=dict(data_root='data/NTHU/Tokyo'))
test_dataloader = val_dataloader
