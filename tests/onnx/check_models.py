"""ONNX's own checker, with full shape inference, on every model make_onnx_cases wrote.

    python3 check_models.py CASES_DIR
"""
import pathlib
import sys

import onnx
import onnx.checker

models = sorted(pathlib.Path(sys.argv[1]).glob("*.onnx"))
if not models:
    sys.exit(f"check_models: no .onnx files in {sys.argv[1]}")
for path in models:
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    print(f"ok   {path.name} (onnx {onnx.__version__})")
