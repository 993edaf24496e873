from .domain_adaptive_segmentor import DomainAdaptiveSegmentor
from .sfda_segmentor import SFDASegmentor

__all__ = ['DomainAdaptiveSegmentor', 'SFDASegmentor']
