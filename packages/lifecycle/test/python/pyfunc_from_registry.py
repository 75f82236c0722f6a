"""Loads a registered StreamFlow model the way a Python MLflow user would, and scores a CSV.

  python pyfunc_from_registry.py MODEL_URI RAW.csv OUT.json

MLFLOW_TRACKING_URI names the server. RAW.csv is read with pandas' defaults (build-dataset's
file: user_id and churn_label are extra columns the signature drops). OUT.json gets
{"label": [...], "p_churn": [...], "mlflow": version}.
"""
import json
import sys

import mlflow
import mlflow.pyfunc
import pandas as pd

uri, csv_path, out_path = sys.argv[1:4]
model = mlflow.pyfunc.load_model(uri)
out = model.predict(pd.read_csv(csv_path))
with open(out_path, "w") as f:
    json.dump({"label": out["label"].tolist(), "p_churn": out["p_churn"].tolist(), "mlflow": mlflow.__version__}, f)
