# SFDA, SYNTHIA -> Cityscapes, DeepLabV3-R50 at 512x256 (read mIoU16 / mIoU13).
# Source model: python tools/train.py configs/source_only/deeplabv3_r50_synthia-512x256_40k.py
_base_ = ['./deeplabv3_r50_gta2cs.py']
model = dict(
    source_checkpoint='work_dirs/deeplabv3_r50_synthia-512x256_40k/iter_40000.pth')
