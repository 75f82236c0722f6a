"""scikit-learn side of `pnpm bench score`: fits the lab recipe on the training matrix the
TypeScript side wrote, then times predict_proba alone on the scoring matrix (float64
little-endian, our preprocessing) and prints one JSON line."""
import json
import resource
import sys
import time
from pathlib import Path

import sklearn
from lab_recipe import lab_forest, read_split


def main() -> None:
    d = Path(sys.argv[1])
    meta, m = read_split(d, ["x_train", "y_train", "x_score"])
    x_train = m["x_train"]
    y_train = m["y_train"]
    x_score = m["x_score"]
    model = lab_forest(meta["nEstimators"])
    model.fit(x_train, y_train)
    nodes = sum(e.tree_.node_count for e in model.estimators_)
    runs = []
    for _ in range(meta["repeats"]):
        started = time.perf_counter()
        p = model.predict_proba(x_score)[:, 1]
        runs.append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "predictSeconds": min(runs),
                "runs": runs,
                "rows": int(x_score.shape[0]),
                "positiveRate": float((p > 0.5).mean()),
                "nodes": nodes,
                "rssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "version": sklearn.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
