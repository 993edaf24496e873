# SIM around the toy DeepLabV3-R18 (single level), started from the toy GTA5 source
# model (`python tools/demo.py` trains it). Matched features: the 128-d input of the
# ASPP head's 1x1 classifier (feature_source='head'), the analogue of DeepLab-V2's res5,
# which feeds a linear classifier: re-predicting pooled features with DeepLabV3's whole
# ASPP head (BN, image pooling) rejects almost every class (measured, docs/methods/sim.md).
# Toy values (short CPU runs of tens of iterations with batch 4) differ from the paper's:
# lambda_adv_main 0.2 (as the AdaptSegNet toy config) and lambda_ci 1.0 instead of 0.001 /
# 0.01, which change nothing measurable in such runs; banks of w = 10 stuff and 20
# instance samples per class (50 / 500 would never fill).
_base_ = ['./deeplabv3_r18-d8_toy.py']
model = dict(
    _delete_=True,
    type='SIMSegmentor',
    segmentor={{_base_.model}},
    step=1,
    source_checkpoint='work_dirs/demo/source/iter_300.pth',
    discriminator=dict(type='FCDiscriminator', num_classes=19, ndf=64),
    discriminator_aux=None,
    loss_adv=dict(type='AdversarialLoss'),
    lambda_adv_main=0.2,
    lambda_ci=1.0,
    stuff_classes=[0, 1, 2, 3, 4, 8, 9, 10],
    thing_classes=[5, 6, 7, 11, 12, 13, 14, 15, 16, 17, 18],
    feature_source='head',
    stuff_bank=dict(type='FeatureMemoryBank', size=10),  # dim: the feature's (128)
    instance_bank=dict(type='FeatureMemoryBank', size=20))
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', find_unused_parameters=False)
