# mmseg's DeepLabV3-R50 with plain BatchNorm (SyncBN needs a process group and a GPU;
# set norm_cfg back to SyncBN with --cfg-options for multi-GPU source training).
_base_ = ['mmseg::_base_/models/deeplabv3_r50-d8.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(norm_cfg=norm_cfg),
    auxiliary_head=dict(norm_cfg=norm_cfg))
