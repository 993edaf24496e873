# DAS3 stage a, Cityscapes -> NTHU Taipei.
_base_ = ['./deeplabv2_r101_das3-a_cs2nthu_rome.py']
model = dict(source_checkpoint='work_dirs/deeplabv2_r101_cityscapes-1024x512_40k/iter_40000.pth')
train_dataloader = dict(dataset=dict(data_root='data/NTHU/Taipei'))
val_dataloader = dict(dataset=dict(data_root='data/NTHU/Taipei'))
test_dataloader = val_dataloader
