"""The README's usage example runs as written."""

import re
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_example_runs(tmp_path, monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text()
    example = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    assert "fit(net, " in example and "backprop(" in example
    script = tmp_path / "example.py"
    script.write_text(example)
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(script))
    accuracy, max_error = capsys.readouterr().out.split()
    assert float(accuracy) >= 0.95
    assert float(max_error) < 1e-7
    assert (tmp_path / "digits.safetensors").exists()
