# DAS3 stage c, Cityscapes -> NTHU Tokyo.
_base_ = ['./deeplabv2_r101_das3-c_cs2nthu_rome.py']
model = dict(source_checkpoint='work_dirs/deeplabv2_r101_das3-b_cs2nthu_tokyo/iter_29750.pth')
train_dataloader = dict(dataset=dict(data_root='data/NTHU/Tokyo'))
val_dataloader = dict(dataset=dict(data_root='data/NTHU/Tokyo'))
test_dataloader = val_dataloader
