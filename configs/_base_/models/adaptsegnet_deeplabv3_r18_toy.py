# AdaptSegNet around the toy DeepLabV3-R18 (single level: the toy model has no auxiliary
# head), started from the toy GTA5 source model (`python tools/demo.py` trains it).
_base_ = ['./deeplabv3_r18-d8_toy.py']
model = dict(
    _delete_=True,
    type='AdaptSegNetSegmentor',
    segmentor={{_base_.model}},
    source_checkpoint='work_dirs/demo/source/iter_300.pth',
    discriminator=dict(type='FCDiscriminator', num_classes=19, ndf=64),
    discriminator_aux=None,
    loss_adv=dict(type='AdversarialLoss'),
    lambda_adv_main=0.001,
    input_mode='softmax')
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', find_unused_parameters=False)
