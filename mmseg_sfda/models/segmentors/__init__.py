from .das3_segmentor import DAS3Segmentor
from .domain_adaptive_segmentor import DomainAdaptiveSegmentor
from .self_training_segmentor import SelfTrainingSegmentor
from .sfda_segmentor import SFDASegmentor

__all__ = ['DAS3Segmentor', 'DomainAdaptiveSegmentor', 'SelfTrainingSegmentor',
           'SFDASegmentor']
