"""The scenario presets use the model settings the selection script chose on the selection
seeds, and the selection never looked at a report seed."""

from __future__ import annotations

import json
from pathlib import Path

from riskmodel.config import load_config
from riskmodel.models.seeds import SELECTION_SEEDS, report_seeds

ROOT = Path(__file__).resolve().parents[1]
SELECTION = ROOT / "benchmarks" / "selection" / "model-settings.json"


def test_presets_use_the_chosen_settings() -> None:
    doc = json.loads(SELECTION.read_text())
    assert doc["chosen"] in doc["tried"]
    assert doc["chosen_settings"] == doc["tried"][doc["chosen"]]["settings"]
    for preset in sorted((ROOT / "configs" / "scenarios").glob("*.toml")):
        model = load_config(preset).model
        for key, value in doc["chosen_settings"].items():
            assert getattr(model, key) == value, (preset.name, key)


def test_selection_used_selection_seeds_only() -> None:
    doc = json.loads(SELECTION.read_text())
    assert set(doc["seeds"]) <= set(SELECTION_SEEDS)
    assert not set(doc["seeds"]) & set(report_seeds(100))
    for result in doc["tried"].values():
        for preset in doc["presets"]:
            assert {r["seed"] for r in result[preset]["per_seed"]} == set(doc["seeds"])
