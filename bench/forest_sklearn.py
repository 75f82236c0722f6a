"""scikit-learn side of `pnpm bench forest`: fits the lab recipe on the split the TypeScript side
wrote (float64 little-endian matrices) and prints one JSON line."""
import json
import resource
import sys
import time
from pathlib import Path

import sklearn
from lab_recipe import lab_forest, read_split
from sklearn.metrics import roc_auc_score


def main() -> None:
    d = Path(sys.argv[1])
    meta, m = read_split(d, ["x_train", "y_train", "x_val", "y_val"])
    x_train = m["x_train"]
    y_train = m["y_train"]
    x_val = m["x_val"]
    y_val = m["y_val"]
    model = lab_forest(meta["nEstimators"])
    started = time.perf_counter()
    cpu_started = time.process_time()
    model.fit(x_train, y_train)
    fit_seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    auc = roc_auc_score(y_val, model.predict_proba(x_val)[:, 1])
    nodes = sum(e.tree_.node_count for e in model.estimators_)
    print(
        json.dumps(
            {
                "seconds": fit_seconds,
                "cpuSeconds": cpu_seconds,
                "auc": auc,
                "rssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "nodes": nodes,
                "version": sklearn.__version__,
            }
        )
    )


main()
