"""What the scikit-learn sides of the benchmarks share: the lab's forest recipe and the
float64 matrices the TypeScript side writes."""
import json
from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestClassifier


def read_split(d: Path, names: list[str]) -> tuple[dict, dict]:
    """meta.json and the named little-endian float64 files of `d` (x_* reshaped to nCols)."""
    meta = json.loads((d / "meta.json").read_text())
    arrays = {}
    for name in names:
        a = np.fromfile(d / f"{name}.f64", dtype="<f8")
        arrays[name] = a.reshape(-1, meta["nCols"]) if name.startswith("x_") else a
    return meta, arrays


def lab_forest(n_estimators: int) -> RandomForestClassifier:
    return RandomForestClassifier(
        n_estimators=n_estimators,
        max_features="sqrt",
        class_weight="balanced",
        random_state=42,
        n_jobs=-1,
    )
