from .subset_iou_metric import SubsetIoUMetric, iou_from_confusion

__all__ = ['SubsetIoUMetric', 'iou_from_confusion']
