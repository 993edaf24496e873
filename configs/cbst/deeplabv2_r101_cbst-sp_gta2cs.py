# CBST-SP, GTA5 -> Cityscapes: selection on spatial prior x probability (Eq. 9).
# Priors: python tools/compute_spatial_priors.py \
#     configs/source_only/deeplabv2_r101_gta5-1024x512_40k.py \
#     --size 512 1024 --out work_dirs/spatial_priors/gta5_512x1024.npz
_base_ = ['./deeplabv2_r101_cbst_gta2cs.py']
custom_hooks = [
    dict(_base_.cbst_hook, spatial_prior='work_dirs/spatial_priors/gta5_512x1024.npz')
]
