"""The notebooks of docs/notebooks, executed once per test session by nbclient in a real Jupyter
kernel running this interpreter (a kernelspec for ``sys.executable`` in a temporary JUPYTER_PATH)."""

from __future__ import annotations

import json
import os
import sys
import time

import pytest
from notebook_support import NAMES, NOTEBOOKS

KERNEL = "deltaprop-tests"
TIMEOUT = 120  # seconds per cell


@pytest.fixture(scope="session")
def kernel(tmp_path_factory) -> str:
    """A kernelspec that starts ``sys.executable -m ipykernel_launcher``, visible through
    JUPYTER_PATH for the session."""
    pytest.importorskip("ipykernel", reason="ipykernel runs the notebooks (pip install -e '.[test]')")
    folder = tmp_path_factory.mktemp("jupyter")
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "deltaprop tests", "language": "python"}))
    saved = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(folder), saved]))
    yield KERNEL
    if saved is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = saved


@pytest.fixture(scope="session")
def executed(kernel) -> dict:
    """Each notebook executed from top to bottom: {name: (the executed notebook, seconds)}."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    results = {}
    for name in NAMES:
        path = NOTEBOOKS / f"{name}.ipynb"
        notebook = nbformat.read(path, as_version=4)
        started = time.perf_counter()
        nbclient.NotebookClient(notebook, kernel_name=kernel, timeout=TIMEOUT,
                                resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
        results[name] = (notebook, time.perf_counter() - started)
    return results
