"""``deltaprop export``: a model file to ONNX, run by onnxruntime equal to feedforward."""

from __future__ import annotations

import numpy as np
import onnxruntime

import deltaprop
from deltaprop.cli import main


def test_export_writes_a_graph_onnxruntime_runs_equal_to_feedforward(tmp_path, capsys):
    net = deltaprop.Network([5, 4, 3], activation="leaky_relu", output_activation="softmax",
                            cost="log_likelihood", seed=0)
    deltaprop.save(net, tmp_path / "model.safetensors")
    assert main(["export", str(tmp_path / "model.safetensors"), "--onnx",
                 str(tmp_path / "model.onnx")]) == 0
    assert "model.onnx" in capsys.readouterr().out
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))
    X = np.random.default_rng(0).normal(size=(7, 5))
    (out,) = session.run(None, {"input": X})
    np.testing.assert_allclose(out, net.feedforward(X), rtol=0, atol=1e-12)


def test_export_of_a_bad_model_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "bad.safetensors").write_bytes(b"not a model")
    assert main(["export", str(tmp_path / "bad.safetensors"), "--onnx",
                 str(tmp_path / "out.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.safetensors" in err and "Traceback" not in err
    assert not (tmp_path / "out.onnx").exists()
