"""Test-session settings: one intra-op thread.

The suite runs many tiny forwards; on a 2-core machine two threads per op cost far more in
synchronisation than they gain (measured: 1.16 s vs 0.03 s for a toy segmentor forward
while other processes were running).
"""
import torch

torch.set_num_threads(1)
