# ST (one global threshold instead of class-wise ones), GTA5 -> Cityscapes: the
# baseline of CBST's Table 1. (A list in a config replaces the base's list, so the hook
# is written out.)
_base_ = ['./deeplabv2_r101_cbst_gta2cs.py']
custom_hooks = [
    dict(
        type='PseudoLabelHook',
        label_pipeline={{_base_.cbst_label_pipeline}},
        round_epochs=2,
        max_rounds={{_base_.cbst_rounds}},
        policy=dict(
            type='global_portion',
            portion=dict(start=0.2, step=0.05, max_portion=0.5)))
]
