# DeepLab-V2 ResNet-101 (output stride 8) with the ASPP-sum classifier of
# AdaptSegNet / ADVENT / CBST.

# BN affine parameters frozen (requires_grad=False), as in the DeepLab-V2 code of
# AdaptSegNet / ADVENT / CBST (CRST) / SIM / IntraDA (affine_par, requires_grad=False);
# the layers stay in train mode (their running statistics follow model.bn_stats).
# SyncBN fails on 1 CPU proc.
norm_cfg = dict(type='BN', requires_grad=False)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        # Plain ResNet-101 (7x7 stem, as DeepLab-V2), dilated res4/res5.
        type='ResNet',
        depth=101,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=False,
        # Weights matching the plain stem; 'open-mmlab://resnet101_v1c'
        # would only fit type='ResNetV1c' (deep stem).
        init_cfg=dict(
            type='Pretrained', checkpoint='torchvision://resnet101')),
    decode_head=dict(
        type='DeepLabV2Head',
        in_channels=2048,
        in_index=3,
        dilations=(6, 12, 18, 24),
        num_classes=19,
        dropout_ratio=0.,
        ignore_index=255,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            # mean over labelled pixels, like nn.CrossEntropyLoss(ignore=255)
            avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
