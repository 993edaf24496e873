# Multi-level DeepLab-V2 (AdaptSegNet): extra classifier on res4, weight 0.1.
_base_ = ['./deeplabv2_r101.py']

model = dict(
    auxiliary_head=dict(
        type='DeepLabV2Head',
        in_channels=1024,
        in_index=2,
        dilations=(6, 12, 18, 24),
        num_classes=19,
        dropout_ratio=0.,
        ignore_index=255,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=0.1,
            avg_non_ignore=True)))
