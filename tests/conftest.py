"""Shared fixtures: tiny specs run through the real loader and engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from archcost import engine, spec

AnalyzeYaml = Callable[..., engine.Analysis]


@pytest.fixture
def analyze_yaml() -> AnalyzeYaml:
    """`analyze_yaml(text, **analyze_kwargs)`: load spec text (file "test.yaml") and analyse it."""

    def run(text: str, **kwargs: Any) -> engine.Analysis:
        return engine.analyze(spec.load_text(text, "test.yaml"), **kwargs)

    return run
