"""Scores rows with an exported StreamFlow model from Python, the way its users would.

  python onnx_predict.py ort MODEL.onnx ROWS.json OUT.json     onnx's full check, then onnxruntime directly
  python onnx_predict.py pyfunc MODEL_DIR ROWS.json OUT.json   mlflow.pyfunc.load_model + a DataFrame

ROWS.json is {"columns": {name: [value, ...]}} with null for NULL and the string "NaN" for NaN.
OUT.json gets {"label": [...], "p_churn": [...]} (plus "versions").
"""

import json
import sys

import numpy as np


def column(values, kind):
    if kind == "double":
        return np.array([np.nan if v is None or v == "NaN" else v for v in values], dtype=np.float64)
    if kind == "int64":
        return np.array(values, dtype=np.int64)
    # Strings and booleans as Python objects: onnxruntime turns each into str(value).
    return np.array(values, dtype=object)


def run_ort(model_path, columns):
    import onnx
    import onnxruntime as ort

    # Raises on any violation of the ONNX spec, including type and shape inference of every node.
    onnx.checker.check_model(onnx.load(model_path), full_check=True)
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    kinds = {"tensor(double)": "double", "tensor(int64)": "int64", "tensor(string)": "object"}
    feed = {i.name: column(columns[i.name], kinds[i.type]) for i in session.get_inputs()}
    label, p = session.run(["label", "p_churn"], feed)
    return {"label": label.tolist(), "p_churn": p.tolist(), "versions": {"onnx": onnx.__version__, "onnxruntime": ort.__version__}}


def run_pyfunc(model_dir, columns):
    import mlflow
    import mlflow.pyfunc
    import pandas as pd

    frame = pd.DataFrame({name: [np.nan if v is None or v == "NaN" else v for v in values] for name, values in columns.items()})
    out = mlflow.pyfunc.load_model(model_dir).predict(frame)
    return {
        "label": np.asarray(out["label"]).tolist(),
        "p_churn": np.asarray(out["p_churn"]).tolist(),
        "versions": {"mlflow": mlflow.__version__},
    }


def main():
    mode, model, rows_path, out_path = sys.argv[1:5]
    with open(rows_path) as f:
        columns = json.load(f)["columns"]
    result = run_ort(model, columns) if mode == "ort" else run_pyfunc(model, columns)
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
