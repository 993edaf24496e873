# mmseg's 40k-iteration schedule with our run safety hooks: checkpoints written atomically
# (a kill during a save never loses the last one), a stop at the first NaN / Inf loss or
# weight, and the random states in checkpoints (exact resume with dropout).
_base_ = ['mmseg::_base_/schedules/schedule_40k.py']
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook'),
    non_finite_guard=dict(type='NonFiniteGuardHook'),
    rng_state=dict(type='RNGStateHook'))
