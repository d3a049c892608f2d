"""Every stage, in chain order. A stage module adds itself here."""

from __future__ import annotations

from pipeline.extract_stage import EXTRACT
from pipeline.segment_stage import SEGMENT
from pipeline.stage_spec import StageSpec
from pipeline.tag_stage import TAG

STAGES: dict[str, StageSpec] = {spec.name: spec for spec in (EXTRACT, SEGMENT, TAG)}
