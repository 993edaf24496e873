# The BatchNorm-statistics policy of every toy adaptation config (model.bn_stats of a
# DomainAdaptiveSegmentor, see docs/bn_stats.md), read as {{_base_.toy_bn_stats}}: one line
# to change to benchmark another policy, e.g.
#   toy_bn_stats = dict(init='target', track='target', refresh=True)
# (AdaBN start, source batches kept out of the running statistics, re-estimated before
# every pseudo-labelling round and at the end). Now: the papers' reading, as the real
# configs (the source model's statistics, updated by every pass, no refresh).
toy_bn_stats = dict(init='source', track='all', refresh=False)
