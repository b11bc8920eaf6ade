"""ulasan: sentiment and dissatisfaction causes of Malay and Indonesian customer reviews."""

from ulasan.predictor import Classifier, load

__all__ = ["Classifier", "load"]
