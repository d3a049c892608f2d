"""Every stage, in chain order. A stage module adds itself here."""

from __future__ import annotations

from pipeline.stage_spec import StageSpec
from pipeline.stages.export import EXPORT
from pipeline.stages.extract import EXTRACT
from pipeline.stages.segment import SEGMENT
from pipeline.stages.tag import TAG

STAGES: dict[str, StageSpec] = {spec.name: spec for spec in (EXTRACT, SEGMENT, TAG, EXPORT)}
