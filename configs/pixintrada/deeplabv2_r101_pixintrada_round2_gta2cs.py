# PixIntraDA, round 2 (T=1 + KLD, the paper's full model; Table 3: 54.2): starts from the
# round-1 continuous model, whose frozen copy relabels the target set (new median
# thresholds), and adds CRST's KLD regulariser (weight 0.1) on the easy pixels.
# Round 1 first:
#   python tools/train.py configs/pixintrada/deeplabv2_r101_pixintrada_continuous_gta2cs.py
_base_ = ['./deeplabv2_r101_pixintrada_continuous_gta2cs.py']
model = dict(
    loss_kld=dict(_delete_=True, type='KLDRegularizationLoss'),  # round 1: None
    lambda_kld=0.1,
    source_checkpoint='work_dirs/deeplabv2_r101_pixintrada_continuous_gta2cs/iter_30000.pth')
