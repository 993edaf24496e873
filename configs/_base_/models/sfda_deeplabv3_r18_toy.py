# SFDA around the toy DeepLabV3-R18: fake images at half the target size (64x128).
_base_ = ['./deeplabv3_r18-d8_toy.py']
model = dict(
    _delete_=True,
    type='SFDASegmentor',
    segmentor={{_base_.model}},
    source_checkpoint='work_dirs/demo/source/iter_300.pth',
    generator=dict(type='FakeImageGenerator', latent_dim=256, out_size=(64, 128)),
    discriminator=dict(
        type='ConditionalPatchDiscriminator', num_classes=19, num_patches=16,
        embed_dim=256),
    attention=dict(type='DualAttentionModule'),
    num_patches=4)
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel')
