# DAS3 stage b, Cityscapes -> NTHU Rio.
_base_ = ['./deeplabv2_r101_das3-b_cs2nthu_rome.py']
model = dict(source_checkpoint='work_dirs/deeplabv2_r101_das3-a_cs2nthu_rio/iter_29750.pth')
train_dataloader = dict(dataset=dict(data_root='data/NTHU/Rio'))
val_dataloader = dict(dataset=dict(data_root='data/NTHU/Rio'))
test_dataloader = val_dataloader
