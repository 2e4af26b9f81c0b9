"""One validated config: the packaged defaults, a YAML file over them, flags over both; bad keys and
values are named in the error."""

from __future__ import annotations

import dataclasses
import pickle
import typing
from pathlib import Path

import pytest
import yaml

from pipeline.config import Config, default_config_text
from pipeline.errors import ConfigError
from pipeline.output.formats import FORMATS
from pipeline.run.settings import run_config


def _leaf_keys(data: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in data.items():
        keys |= _leaf_keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return keys


def test_defaults_live_only_in_the_packaged_yaml() -> None:
    def walk(cls: type, prefix: str = "") -> set[str]:
        leaves = set()
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            # A default here would be a second copy of the YAML's, free to drift from it.
            assert f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING, prefix + f.name
            if dataclasses.is_dataclass(hints[f.name]):
                leaves |= walk(hints[f.name], f"{prefix}{f.name}.")
            else:
                leaves.add(prefix + f.name)
        return leaves

    # The packaged file sets every key the dataclasses declare, and nothing else.
    assert walk(Config) == _leaf_keys(yaml.safe_load(default_config_text()))
    assert run_config(None).format == "jsonl"


def test_a_config_file_names_only_what_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("detection:\n  thresh: 0.25\nmodels:\n  recognition:\n", encoding="utf-8")
    config, default = run_config(path), run_config(None)
    assert config.detection == dataclasses.replace(default.detection, thresh=0.25)
    assert dataclasses.replace(config, detection=default.detection) == default


def test_flags_override_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("workers: 3\nrecognition:\n  score_threshold: 0.4\n", encoding="utf-8")
    config = run_config(path, {"workers": 2, "output": "x.jsonl", "threads_per_worker": None})
    assert (config.workers, config.output, config.recognition.score_threshold) == (2, "x.jsonl", 0.4)
    assert config.threads_per_worker == run_config(None).threads_per_worker
    assert pickle.loads(pickle.dumps(config)) == config  # crosses to workers as plain data


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_output_defaults_to_the_formats_own_name(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"format: {fmt}\n", encoding="utf-8")
    assert run_config(path).output == FORMATS[fmt].default_output
    assert run_config(None, {"format": fmt}).output == FORMATS[fmt].default_output
    assert run_config(path, {"output": "mine"}).output == "mine"
    path.write_text(f"format: {fmt}\noutput: kept\n", encoding="utf-8")
    assert run_config(path).output == "kept"
    assert len({f.default_output for f in FORMATS.values()}) == len(FORMATS)


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
        ("detection: 5\n", "detection"),
        ("threads_per_worker: null\n", "threads_per_worker"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, yaml_text: str, key: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"'?{key}'?"):
        run_config(path)


def test_unreadable_or_invalid_yaml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        run_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("workers: [1,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        run_config(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- workers\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        run_config(listed)


def test_the_documented_copy_in_configs_equals_the_packaged_defaults() -> None:
    """configs/default.yaml is the copy users read and copy from; the package reads its own."""
    documented = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"
    assert documented.read_text(encoding="utf-8") == default_config_text()
