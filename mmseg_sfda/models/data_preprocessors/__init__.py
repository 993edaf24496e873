from .domain_pair_data_preprocessor import DomainPairDataPreProcessor

__all__ = ['DomainPairDataPreProcessor']
