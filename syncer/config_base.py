"""Building blocks shared by the org config and the per-system config sections (no imports of ours,
so `syncer/systems/*` can use them while `syncer/config.py` imports those systems)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from mappings.models import Priority

PriorityId = TypeVar("PriorityId", int, str)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimitConfig(Strict):
    requests: int = Field(gt=0)
    per_seconds: float = Field(gt=0)


class FeedbackFilterConfig(Strict):
    categories: tuple[str, ...] = ()
    pipelines: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()


class PriorityTable(Strict, Generic[PriorityId]):
    """Our five priority levels -> the tracker's priority ids or names; each tracker's subclass sets its
    defaults, so an org overrides only the levels it needs."""

    lowest: PriorityId
    low: PriorityId
    medium: PriorityId
    high: PriorityId
    highest: PriorityId

    def as_mapping(self) -> dict[Priority, PriorityId]:
        return {level: getattr(self, level.value) for level in Priority}
