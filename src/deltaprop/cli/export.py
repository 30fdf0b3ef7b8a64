"""``deltaprop export``: a model file as an ONNX graph (Gemm + activation per layer).

    deltaprop export runs/X/model.safetensors --onnx model.onnx

The graph's input is ``input``, shape (batch, n_in), in the model's dtype; its output ``output``,
shape (batch, n_out). onnxruntime runs it equal to ``Network.feedforward`` (docs/onnx.md).
"""

from __future__ import annotations

import argparse
from typing import Any

from deltaprop._output import plain, safe
from deltaprop.cli._common import EXIT_OK, console, shown
from deltaprop.onnx import export_file


def add_parser(commands: Any) -> None:
    """The ``export`` subcommand."""
    parser = commands.add_parser(
        "export", help="export a model file to ONNX",
        description="Write a model file as an ONNX graph that onnxruntime (or any ONNX runtime) "
                    "runs: input 'input' of shape (batch, n_in), output 'output' (batch, n_out).",
    )
    parser.add_argument("model", help="a model file written by 'deltaprop train'")
    parser.add_argument("--onnx", required=True, metavar="OUT.onnx",
                        help="the ONNX file to write (replaced atomically if it exists)")
    parser.add_argument("--opset", type=int, default=None,
                        help="ONNX opset version (default: 18)")


def run(args: argparse.Namespace) -> int:
    """Export the model; one line says where it went."""
    try:
        export_file(args.model, args.onnx, opset=args.opset)
    except ImportError as missing:  # onnx is the optional extra deltaprop[onnx]
        raise ValueError(str(missing)) from None
    console().print(plain(f"wrote {safe(shown(args.onnx))}: input 'input' (batch, n_in), output "
                          "'output' (batch, n_out)", None))
    return EXIT_OK
