# DAS3 around DeepLab-V2-R101; the stage and the model it starts from are set per config.
_base_ = ['./deeplabv2_r101.py']
model = dict(
    _delete_=True,
    type='DAS3Segmentor',
    segmentor={{_base_.model}},
    stage='a',
    source_checkpoint=None)
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel')
