# SIM (Wang et al., CVPR 2020) around the single-level DeepLab-V2 ResNet-101: the ASPP
# classifier on res5, one FC discriminator on its softmax output (lambda_adv 0.001), stuff
# and instance matching on the 2048-d res5 features (lambda_ci 0.01, w = 50 stuff samples
# and z * w = 10 * 50 instance samples per class). Step 1 (Eq. 12) trains from ImageNet
# weights, as the paper and AdaptSegNet; sim-step2_deeplabv2_r101.py is step 2.
_base_ = ['./deeplabv2_r101.py']
model = dict(
    _delete_=True,
    type='SIMSegmentor',
    segmentor={{_base_.model}},
    step=1,
    source_checkpoint=None,
    discriminator=dict(type='FCDiscriminator', num_classes=19, ndf=64),
    discriminator_aux=None,
    loss_adv=dict(type='AdversarialLoss', source_label=0., target_label=1.),
    lambda_adv_main=0.001,
    lambda_ci=0.01,
    # road, sidewalk, building, wall, fence, vegetation, terrain, sky; things: the rest
    stuff_classes=[0, 1, 2, 3, 4, 8, 9, 10],
    thing_classes=[5, 6, 7, 11, 12, 13, 14, 15, 16, 17, 18],
    feature_source='backbone',
    feature_index=-1,  # res5
    stuff_bank=dict(type='FeatureMemoryBank', dim=2048, size=50),
    instance_bank=dict(type='FeatureMemoryBank', dim=2048, size=500),
    loss_stuff=dict(type='StuffMatchingLoss', reduction='sim', normalize_by_dim=True,
                    require_full=True),
    loss_instance=dict(type='InstanceMatchingLoss', reduction='sim',
                       normalize_by_dim=True, require_full=True),
    max_instances=10,
    connectivity=8,
    classifier_check=dict(source=True, target_stuff=True, target_things=False))
# each sub-module gets its own DDP wrapper; every segmentor parameter gets a gradient from
# the source loss in every step
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', find_unused_parameters=False)
