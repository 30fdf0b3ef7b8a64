"""The package's imports run one way: import-linter's contracts (pyproject.toml) hold: five layers
(cli | adapters | training and persistence | model | base), the model layer on numpy, scipy and the
base alone, and files read and written without the training loop."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "deltaprop"


def _layered_modules() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    layers = config["tool"]["importlinter"]["contracts"][0]["layers"]
    return {name.strip() for layer in layers for name in layer.replace(":", "|").split("|")}


def test_the_layers_contract_is_kept():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 kept, 0 broken" in result.stdout


def test_the_design_has_five_layers_and_the_model_layer_is_named():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    layers = config["tool"]["importlinter"]["contracts"][0]["layers"]
    assert len(layers) == 5
    model = {name.strip() for name in layers[3].split(":")}
    assert {"network", "activations", "costs", "optimizers", "initializers"} <= model


def test_every_module_has_a_layer():
    """A new module must be placed in the contract, or it could import anything."""
    modules = {path.stem for path in PACKAGE.glob("*.py")} | {
        path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}
    modules -= {"__init__", "__main__"}
    assert modules - _layered_modules() == set()
