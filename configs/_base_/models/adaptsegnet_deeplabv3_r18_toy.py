# AdaptSegNet around the toy DeepLabV3-R18 (single level: the toy model has no auxiliary
# head), started from the toy GTA5 source model (`python tools/demo.py` trains it).
# lambda_adv_main is 0.2, not the paper's 0.001: in a toy run of tens of iterations 0.001
# changes nothing measurable (0.001, 0.01, 0.05, 0.2, 0.5, 1.0 measured: see
# tests/test_methods/test_adaptsegnet_toy.py); the full-size configs keep 0.001.
_base_ = ['./deeplabv3_r18-d8_toy.py']
model = dict(
    _delete_=True,
    type='AdaptSegNetSegmentor',
    segmentor={{_base_.model}},
    source_checkpoint='work_dirs/demo/source/iter_300.pth',
    discriminator=dict(type='FCDiscriminator', num_classes=19, ndf=64),
    discriminator_aux=None,
    loss_adv=dict(type='AdversarialLoss'),
    lambda_adv_main=0.2,
    input_mode='softmax')
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', find_unused_parameters=False)
