from .adapt_seg_net_segmentor import AdaptSegNetSegmentor
from .adversarial_segmentor import AdversarialSegmentor
from .das3_segmentor import DAS3Segmentor
from .domain_adaptive_segmentor import DomainAdaptiveSegmentor
from .pix_intra_da_segmentor import PixIntraDASegmentor
from .self_training_segmentor import SelfTrainingSegmentor
from .sfda_segmentor import SFDASegmentor
from .sim_segmentor import SIMSegmentor

__all__ = ['AdaptSegNetSegmentor', 'AdversarialSegmentor', 'DAS3Segmentor',
           'DomainAdaptiveSegmentor', 'PixIntraDASegmentor', 'SelfTrainingSegmentor',
           'SFDASegmentor', 'SIMSegmentor']
