"""Causal anomaly detectors: plain math, testable without Temporal.

Every detector implements :class:`Detector`: ``update`` scores one point against the past,
``score_series`` scores a whole series exactly as repeated updates would.
"""

from activities.detectors.base import (
    ANOMALY_SCORE,
    Detector,
    Score,
    ScoreState,
    StreamingDetector,
    Timestamp,
    Value,
)
from activities.detectors.calibration import CalibrationSettings, TailCalibrator
from activities.detectors.ensemble import EnsembleDetector, EnsembleSettings
from activities.detectors.forecast import ForecastSettings, ProphetDetector
from activities.detectors.iforest import IsolationForestDetector, IsolationForestSettings
from activities.detectors.rates import (
    BurstSettings,
    EndpointSpikeSettings,
    RateRuleDetector,
    RateRuleSettings,
    TenantSpikeSettings,
    rate_rule_score,
    rate_verdict,
)
from activities.detectors.registry import DETECTOR_FACTORIES, build_detector
from activities.detectors.zscore import (
    EwmaSettings,
    EwmaZScoreDetector,
    RollingZScoreDetector,
    ZScoreSettings,
)

__all__ = [
    "ANOMALY_SCORE",
    "DETECTOR_FACTORIES",
    "BurstSettings",
    "CalibrationSettings",
    "Detector",
    "EndpointSpikeSettings",
    "EnsembleDetector",
    "EnsembleSettings",
    "EwmaSettings",
    "EwmaZScoreDetector",
    "ForecastSettings",
    "IsolationForestDetector",
    "IsolationForestSettings",
    "ProphetDetector",
    "RateRuleDetector",
    "RateRuleSettings",
    "RollingZScoreDetector",
    "Score",
    "ScoreState",
    "StreamingDetector",
    "TailCalibrator",
    "TenantSpikeSettings",
    "Timestamp",
    "Value",
    "ZScoreSettings",
    "build_detector",
    "rate_rule_score",
    "rate_verdict",
]
