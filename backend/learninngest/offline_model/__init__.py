"""The offline model: a deterministic OpenAI-compatible endpoint with faults on demand.

app.py serves it, answers.py decides what it says, faults.py decides when it fails.
"""

from learninngest.offline_model.app import OfflineModelConfig, create_offline_model_app

__all__ = ["OfflineModelConfig", "create_offline_model_app"]
