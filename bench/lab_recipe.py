"""The lab's forest recipe, shared by the scikit-learn sides of the benchmarks."""
from sklearn.ensemble import RandomForestClassifier


def lab_forest(n_estimators: int) -> RandomForestClassifier:
    return RandomForestClassifier(
        n_estimators=n_estimators,
        max_features="sqrt",
        class_weight="balanced",
        random_state=42,
        n_jobs=-1,
    )
