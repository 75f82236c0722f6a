"""Scores rows with an exported StreamFlow model from Python, the way its users would.

  python onnx_predict.py ort MODEL.onnx ROWS.json OUT.json     onnx's full check, then onnxruntime
  python onnx_predict.py pyfunc MODEL_DIR ROWS.json OUT.json   mlflow.pyfunc.load_model + a DataFrame

ROWS.json is {"columns": {name: [value, ...]}, "booleans": [name, ...]}, columns in the model's
column order, null for NULL and the string "NaN" for NaN. OUT.json gets {"label": [...], "p_churn": [...], "versions": {...}}; pyfunc
also scores the rows whose boolean columns hold no NULL as a frame of bool columns ("bool_rows",
"bool_label", "bool_p_churn"), the dtype pandas gives such a batch.
"""

import json
import math
import sys

import numpy as np


def cell(v):
    return math.nan if v == "NaN" else v


def run_ort(model_path, columns):
    import onnx
    import onnxruntime as ort

    # Raises on any violation of the ONNX spec, including type and shape inference of every node.
    onnx.checker.check_model(onnx.load(model_path), full_check=True)
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    (graph_input,) = session.get_inputs()
    rows = list(zip(*[[cell(v) for v in values] for values in columns.values()]))
    if graph_input.type == "tensor(double)":
        feed = np.array([[math.nan if v is None else v for v in r] for r in rows], dtype=np.float64)
    else:
        # Python objects, as DataFrame.values holds them: onnxruntime takes str() of each.
        feed = np.array(rows, dtype=object)
    label, p = session.run(["label", "p_churn"], {graph_input.name: feed})
    return {"label": label.tolist(), "p_churn": p.tolist(), "versions": {"onnx": onnx.__version__, "onnxruntime": ort.__version__}}


def run_pyfunc(model_dir, columns, booleans):
    import mlflow
    import mlflow.pyfunc
    import pandas as pd

    model = mlflow.pyfunc.load_model(model_dir)
    declared = {c.name: c.type.name for c in model.metadata.get_input_schema().inputs}
    # Reversed column order: the signature, not the frame, decides which column is which.
    frame = pd.DataFrame({name: [cell(v) for v in values] for name, values in reversed(list(columns.items()))})
    out = model.predict(frame)
    # Boolean columns declared `boolean` as pandas' bool dtype; those declared `string` (they had
    # NULL in training) as objects, as the model's contract asks.
    bool_rows = [i for i in range(len(frame)) if not any(pd.isna(frame[b][i]) for b in booleans)]
    subset = frame.iloc[bool_rows].reset_index(drop=True)
    subset = subset.astype({b: bool for b in booleans}).astype({b: object for b in booleans if declared[b] == "string"})
    assert any(subset[b].dtype == np.bool_ for b in booleans)
    sub = model.predict(subset)
    return {
        "label": out["label"].tolist(),
        "p_churn": out["p_churn"].tolist(),
        "bool_rows": bool_rows,
        "bool_label": sub["label"].tolist(),
        "bool_p_churn": sub["p_churn"].tolist(),
        "versions": {"mlflow": mlflow.__version__},
    }


def main():
    mode, model, rows_path, out_path = sys.argv[1:5]
    with open(rows_path) as f:
        rows = json.load(f)
    columns = rows["columns"]
    result = run_ort(model, columns) if mode == "ort" else run_pyfunc(model, columns, rows["booleans"])
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
