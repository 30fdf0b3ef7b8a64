"""What the notebook tests share: where the notebooks are and their names."""

from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[2] / "docs" / "notebooks"
NAMES = ("backprop", "saturation", "from-scikit-learn")
