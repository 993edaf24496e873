# CBST-SP, GTA5 -> Cityscapes: selection on spatial prior x probability (Eq. 9).
# Priors: python tools/compute_spatial_priors.py \
#     configs/source_only/deeplabv2_r101_gta5-1024x512_40k.py \
#     --size 512 1024 --out work_dirs/spatial_priors/gta5_512x1024.npz
# (A list in a config replaces the base's list, so the hook is written out.)
_base_ = ['./deeplabv2_r101_cbst_gta2cs.py']
custom_hooks = [
    dict(
        type='PseudoLabelHook',
        label_pipeline={{_base_.cbst_label_pipeline}},
        round_epochs=2,
        max_rounds={{_base_.cbst_rounds}},
        spatial_prior='work_dirs/spatial_priors/gta5_512x1024.npz',
        policy=dict(
            type='class_portion',
            portion=dict(start=0.2, step=0.05, max_portion=0.5)))
]
