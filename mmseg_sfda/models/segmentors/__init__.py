from .domain_adaptive_segmentor import DomainAdaptiveSegmentor

__all__ = ['DomainAdaptiveSegmentor']
