# SFDA around mmseg's DeepLabV3-R50: the source model is an ordinary EncoderDecoder.
_base_ = ['./deeplabv3_r50-d8.py']
model = dict(
    _delete_=True,
    type='SFDASegmentor',
    segmentor={{_base_.model}},
    source_checkpoint=None,  # set by each task config
    generator=dict(type='FakeImageGenerator', latent_dim=256, out_size=(128, 256)),
    discriminator=dict(
        type='ConditionalPatchDiscriminator', num_classes=19, num_patches=16,
        embed_dim=256),
    attention=dict(type='DualAttentionModule'),
    alpha=1.0,
    beta=0.5,
    tau=0.5,
    gamma=0.01,
    num_patches=4,
    use_ipsm=True,
    transfer_only=False)
# a custom train_step: each sub-module gets its own DDP wrapper; the auxiliary head
# of the source model takes no part in adaptation, so DDP must allow unused parameters
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', find_unused_parameters=True)
