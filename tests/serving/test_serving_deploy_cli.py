"""Deploy file generation, the `zoo serve`/`zoo query` command functions and the demo helper."""

import argparse
import json

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from serving.config import parse_batching_parameters, read_model_config_file
from serving.deploy.generate import write_configs
from zoo.errors import ConfigError


def test_generate_configs(model_root, tmp_path):
    paths = write_configs(model_root, tmp_path, container_root="/models")
    models = read_model_config_file(paths["models.config"])
    assert [(m.name, m.base_path) for m in models] == [("kws", "/models/kws"), ("sep", "/models/sep"), ("tts", "/models/tts")]
    params = parse_batching_parameters(paths["batching_parameters.txt"].read_text())
    assert params.max_batch_size == 16 and params.allowed_batch_sizes[-1] == 16
    local = write_configs(model_root, tmp_path / "local", container_root=str(model_root))
    assert read_model_config_file(local["models.config"])[0].base_path == str(model_root / "kws")
    with pytest.raises(ConfigError, match="no exported models"):
        write_configs(tmp_path / "empty", tmp_path)


def test_manifests_agree():
    """No YAML parser is a dependency: check the documents and the flags they share textually."""
    import re
    from pathlib import Path

    deploy = Path(__file__).resolve().parents[2] / "serving" / "deploy"
    compose = (deploy / "docker-compose.yml").read_text()
    k8s = (deploy / "kubernetes.yaml").read_text()
    assert re.findall(r"^kind: (\w+)", k8s, re.M) == ["Deployment", "Service", "HorizontalPodAutoscaler"]
    images = set(re.findall(r"image: (\S+)", compose + k8s))
    assert len(images) == 1 and images.pop().startswith("tensorflow/serving:")
    for flag in ("--port=8500", "--rest_api_port=8501", "--model_config_file=/models/models.config",
                 "--enable_batching=true", "--batching_parameters_file=/models/batching_parameters.txt"):
        assert flag in compose and flag in k8s, flag
    assert "readinessProbe" in k8s and "path: /v1/models/" in k8s
    assert "\t" not in compose + k8s  # YAML forbids tabs


def test_serve_flags_match_tensorflow_model_server():
    from serving.cli import add_query_parser, add_serve_parser

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    add_serve_parser(sub)
    add_query_parser(sub)
    args = parser.parse_args(["serve", "--model_config_file", "m.config", "--port", "8500", "--rest_api_port=8501",
                              "--enable_batching=true", "--batching_parameters_file", "b.txt",
                              "--file_system_poll_wait_seconds", "5"])
    assert (args.port, args.rest_api_port, args.enable_batching, args.host) == (8500, 8501, True, "127.0.0.1")
    args = parser.parse_args(["query", "recognize", "a.wav", "--target", "localhost:8500"])
    assert args.endpoint == "recognize" and args.target == "localhost:8500"


def test_query_command_and_demo_helper(server, tmp_path, capsys, kws_task, synthesizer):
    from serving.cli import add_query_parser
    from serving.demo_client import query_all

    x = (0.2 * np.random.default_rng(5).standard_normal(16000)).astype(np.float32)
    wav = tmp_path / "clip.wav"
    sf.write(wav, x, 16000, subtype="FLOAT")
    parser = argparse.ArgumentParser()
    add_query_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["query", "recognize", str(wav), str(tmp_path / "missing.wav"), "--target", server.target,
                              "--model", "kws", "--json"])
    assert args.func(args) == 1  # the missing file fails, the other answers
    line = json.loads(capsys.readouterr().out.strip())
    assert line["label"] == kws_task.labels[int(kws_task(x[None]).numpy().argmax())]
    args = parser.parse_args(["query", "synthesize", "hi", "--target", server.target, "--model", "tts",
                              "--output-dir", str(tmp_path)])
    expected = int(synthesizer.synthesize(tf.constant(["hi"]))["waveform_length"].numpy()[0])
    assert args.func(args) == 0 and sf.info(tmp_path / "synth_0.wav").frames == expected > 0
    results = query_all(server.target, [wav, tmp_path / "missing.wav"], "kws")
    assert results[0]["label"] == line["label"] and results[0]["latency_ms"] > 0 and "error" in results[1]
