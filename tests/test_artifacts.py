import json

import pytest

from tests.fixtures_train import micro_spec
from tools.artifacts import atomic_write_json, read_manifest, sha256_file, staging_dir, write_manifest
from tools.config import ModelConfig
from tools.errors import InputError


def test_staging_dir_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError), staging_dir(target) as d:
        (d / "half.bin").write_bytes(b"x")
        raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_staging_dir_replaces_only_with_overwrite(tmp_path):
    target = tmp_path / "out"
    with staging_dir(target) as d:
        (d / "a").write_text("1")
    with pytest.raises(InputError, match="already exists"), staging_dir(target):
        pass
    with staging_dir(target, overwrite=True) as d:
        (d / "b").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b"]


def test_manifest_hashes_outputs(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"hello")
    atomic_write_json(tmp_path / "meta.json", {"a": 1})
    m = write_manifest(tmp_path, "test", parameters={"p": 1})
    assert {o.path for o in m.outputs} == {"x.bin", "meta.json"}
    x = next(o for o in m.outputs if o.path == "x.bin")
    assert x.sha256 == sha256_file(tmp_path / "x.bin") and x.bytes == 5
    assert read_manifest(tmp_path).parameters == {"p": 1}
    assert json.loads((tmp_path / "manifest.json").read_text())["kind"] == "test"


def test_config_yaml_round_trip_and_errors(tmp_path):
    cfg = ModelConfig(
        name="m",
        model=micro_spec(),
    )
    path = cfg.save(tmp_path / "m.yaml")
    assert ModelConfig.load(path) == cfg
    path.write_text(path.read_text().replace("d_model: 64", "d_model: -1"))
    with pytest.raises(InputError, match=r"model\.d_model"):
        ModelConfig.load(path)
    with pytest.raises(InputError, match="no such config"):
        ModelConfig.load(tmp_path / "missing.yaml")
    hf = cfg.to_hf()
    assert (hf.hidden_size, hf.num_key_value_heads, hf.tie_word_embeddings) == (64, 2, True)
