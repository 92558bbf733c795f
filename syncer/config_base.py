"""Building blocks shared by the org config and the per-system config sections (no imports of ours,
so `syncer/systems/*` can use them while `syncer/config.py` imports those systems)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimitConfig(Strict):
    requests: int = Field(gt=0)
    per_seconds: float = Field(gt=0)


class FeedbackFilterConfig(Strict):
    categories: tuple[str, ...] = ()
    pipelines: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()
