"""Evidently 0.7.15's DataDriftPreset on two build-dataset CSVs, the lab's data definition.

argv: reference.csv current.csv numerical,cols categorical,cols
Prints one JSON object: seconds (read_csv + report), peak RSS, and each column's drift score.
"""
import json
import resource
import sys
import time

t0 = time.perf_counter()
import pandas as pd  # noqa: E402
from evidently import DataDefinition, Dataset, Report  # noqa: E402
from evidently.presets import DataDriftPreset  # noqa: E402

import_seconds = time.perf_counter() - t0
ref_path, cur_path, numerical, categorical = sys.argv[1:5]
numerical = numerical.split(",")
categorical = categorical.split(",")
started = time.perf_counter()
columns = numerical + categorical
ref = pd.read_csv(ref_path, usecols=columns)
cur = pd.read_csv(cur_path, usecols=columns)
definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
snapshot = Report([DataDriftPreset()]).run(
    Dataset.from_pandas(cur, data_definition=definition),
    Dataset.from_pandas(ref, data_definition=definition),
)
result = snapshot.dict()
seconds = time.perf_counter() - started
scores = {}
for metric in result["metrics"]:
    mid = metric.get("metric_id", "")
    if mid.startswith("ValueDrift(column="):
        name = mid[len("ValueDrift(column="):].split(",")[0].rstrip(")")
        scores[name] = metric["value"]
print(
    json.dumps(
        {
            "seconds": seconds,
            "import_seconds": import_seconds,
            "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "scores": scores,
        }
    )
)
