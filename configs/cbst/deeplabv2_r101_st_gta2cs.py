# ST (one global threshold instead of class-wise ones), GTA5 -> Cityscapes: the
# baseline of CBST's Table 1.
_base_ = ['./deeplabv2_r101_cbst_gta2cs.py']
custom_hooks = [dict(_base_.cbst_hook, policy=dict(_base_.cbst_policy, type='global_portion'))]
