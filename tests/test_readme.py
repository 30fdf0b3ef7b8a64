"""The README's usage example runs as written, and its two set-up lines pass one after the other."""

import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def _copy_of_the_checkout(target: Path) -> None:
    """The files git tracks (and the new ones it does not ignore), as they are now, copied to
    ``target``: what a fresh clone of this working tree holds."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files cannot be listed")
    listed = subprocess.run([git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is gone from a clone too
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def test_the_two_setup_lines_pass_in_sequence(tmp_path):
    """The first set-up line's 'deltaprop train' writes runs/ at the root of the checkout; the
    style checks of the second line's tests must still pass there (ruff must not take runs/ for
    first-party code and ask bench/'s 'import runs' to move)."""
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (it is part of the test extras: pip install -e '.[test]')")
    setup = re.search(r"## Set up\n\n```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    assert "deltaprop train\n" in setup and "python -m pytest" in setup
    checkout = tmp_path / "checkout"
    _copy_of_the_checkout(checkout)
    trained = subprocess.run([sys.executable, "-m", "deltaprop", "train", "--epochs", "1", "--quiet"],
                             cwd=checkout, capture_output=True, text=True, timeout=600)
    assert trained.returncode == 0, trained.stderr
    assert [p.name for p in (checkout / "runs").iterdir()], "deltaprop train wrote no runs/<timestamp>"
    style = subprocess.run([ruff, "check", "--no-cache", "src", "tests", "bench"], cwd=checkout,
                           capture_output=True, text=True)
    assert style.returncode == 0, style.stdout + style.stderr
