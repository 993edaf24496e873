# CBST around DeepLab-V2-R101: a SelfTrainingSegmentor over the source model's config.
_base_ = ['./deeplabv2_r101.py']
model = dict(
    _delete_=True,
    type='SelfTrainingSegmentor',
    segmentor={{_base_.model}},
    source_checkpoint=None,  # set by each task config
    target_weight=1.0)
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel')
