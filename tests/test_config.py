"""One validated config: YAML plus flags; bad keys and values are named in the error."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from pipeline.config import DEFAULT_CONFIG_PATH, Config, load_config
from pipeline.errors import ConfigError


def test_default_yaml_matches_the_built_in_defaults() -> None:
    assert DEFAULT_CONFIG_PATH.is_file()
    assert load_config(DEFAULT_CONFIG_PATH) == Config()


def test_flags_override_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("workers: 3\nrecognition:\n  score_threshold: 0.4\n", encoding="utf-8")
    config = load_config(path, {"workers": 2, "output": "x.jsonl", "threads_per_worker": None})
    assert (config.workers, config.output, config.recognition.score_threshold) == (2, "x.jsonl", 0.4)
    assert pickle.loads(pickle.dumps(config)) == config  # crosses to workers as plain data


@pytest.mark.parametrize(
    ("yaml_text", "key"),
    [
        ("wrokers: 2\n", "wrokers"),
        ("detection:\n  thresh: 1.5\n", "detection.thresh"),
        ("detection:\n  limit_type: middle\n", "detection.limit_type"),
        ("workers: two\n", "workers"),
        ("engine:\n  enable_mkldnn: 'yes'\n", "engine.enable_mkldnn"),
        ("recognition:\n  batch_size: 0\n", "recognition.batch_size"),
        ("models:\n  detection:\n    colour: red\n", "models.detection.colour"),
        ("format: xml\n", "format"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, yaml_text: str, key: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"'{key}'"):
        load_config(path)


def test_unreadable_or_invalid_yaml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("workers: [1,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)
