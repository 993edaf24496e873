# SIM step 2 (Eq. 13): as step 1 plus the target cross-entropy on pseudo labels of the
# step-1 model (class-wise median thresholds capped at 0.9) and the Eq. 11 label map for
# matching. As the paper ("we reinitialize and repeat the training process") and SIM's
# train_sim_ssl.py, the segmentor starts again from ImageNet weights; the step-1 model
# (source_checkpoint, set by each task config) is a frozen copy that labels the target
# set. lambda_ci is 0.001 as in train_sim_ssl.py (the paper's 0.01 is step 1's).
_base_ = ['./sim_deeplabv2_r101.py']
model = dict(step=2, reinitialize=True, lambda_ci=0.001, target_weight=1.0,
             matching_labels='augmented')
