"""scikit-learn's own tests of its MLPs pass on deltaprop's: the installed scikit-learn's
sklearn/neural_network/tests/test_mlp.py (read from the installation, never copied into this tree),
with only its import of MLPClassifier and MLPRegressor rewritten to deltaprop.sklearn, run by pytest
with scikit-learn's conftest (its ``global_random_seed``). The tests in PRIVATE_INTERNALS read
scikit-learn's private internals and are deselected; every other one must pass."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import sklearn

SUITE = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
IMPORT = re.compile(r"^from sklearn\.neural_network import ", re.MULTILINE)
PRIVATE_INTERNALS = {
    "test_gradient": "calls MLPClassifier._loss_grad_lbfgs, scikit-learn's private loss function "
                     "(deltaprop's is _lbfgs.Objective: test_sklearn_lbfgs.py checks its gradient "
                     "the same way)",
    "test_learning_rate_warmstart": "reads _optimizer.learning_rate, private state of "
                                    "scikit-learn's SGDOptimizer (deltaprop's optimizer holds the "
                                    "same value as eta)",
    "test_adaptive_learning_rate": "reads _optimizer.learning_rate (as test_learning_rate_warmstart)",
}
"""The tests of test_mlp.py that are deselected, and why (docs/sklearn.md lists them too)."""


def _rewritten_suite(folder: Path) -> Path:
    """test_mlp.py in ``folder``, importing the estimators from deltaprop.sklearn."""
    source, count = IMPORT.subn("from deltaprop.sklearn import ", SUITE.read_text())
    others = re.search(r"^\s*(from|import) sklearn\.neural_network", source, re.MULTILINE)
    assert count >= 1 and others is None, "test_mlp.py imports scikit-learn's MLPs otherwise now"
    (folder / "pytest.ini").write_text("[pytest]\n")  # no configuration from above the folder
    path = folder / "test_mlp.py"
    path.write_text(source)
    return path


def _counts(summary: str) -> dict[str, int]:
    """pytest's last line ("56 passed, 3 deselected in 9.1s") as {"passed": 56, ...}."""
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", summary)}


@pytest.mark.skipif(not SUITE.exists(), reason=f"the installed scikit-learn {sklearn.__version__} "
                    f"lacks its tests (sklearn/neural_network/tests/test_mlp.py)")
def test_scikit_learns_mlp_tests_pass_on_deltaprops_estimators(tmp_path):
    path = _rewritten_suite(tmp_path)
    deselected = [arg for name in PRIVATE_INTERNALS for arg in ("--deselect", f"{path.name}::{name}")]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "sklearn.conftest",
         path.name, *deselected], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    counts = _counts(result.stdout.strip().splitlines()[-1])
    assert result.returncode == 0, output
    assert counts.get("deselected") == len(PRIVATE_INTERNALS), output  # each still exists
    assert counts.get("passed", 0) > 0, output
    assert set(counts) <= {"passed", "deselected", "skipped", "warning", "warnings"}, output
