"""The short tables `udl train` prints after a run without `--json`: the evaluation and the suspects."""

from __future__ import annotations

from udl_core.events import Evaluation
from udl_core.terminal import printable

__all__ = ["format_evaluation"]

_MAX_CLASSES = 20        # per-class lines shown; more are summed up in one line
_MAX_CONFUSION = 10      # the confusion matrix is printed up to this many classes


def _num(value: float | None, spec: str = ".3f") -> str:
    return "n/a" if value is None or value != value else format(value, spec)


def format_evaluation(evaluation: Evaluation) -> list[str]:
    """Lines of text: a title, then the per-class table and the confusion matrix (classification) or
    the outliers (regression), then the suspects when they were looked for."""
    lines = [str(evaluation)]
    if evaluation.task == "regression":
        for o in evaluation.outliers[:10]:
            lines.append(f"  outlier row {o.row}: actual {o.actual:.6g}, predicted {o.predicted:.6g} ({o.z:+.1f} sd)")
        return lines
    names = [printable(c) for c in evaluation.classes]
    width = max([len("weighted avg"), *(len(n) for n in names[:_MAX_CLASSES])])
    lines.append(f"  {'class':<{width}}  precision  recall     f1  support")
    for i, name in enumerate(names[:_MAX_CLASSES]):
        lines.append(f"  {name:<{width}}  {evaluation.precision[i]:>9.3f}  {evaluation.recall[i]:>6.3f}  "
                     f"{evaluation.f1[i]:>5.3f}  {evaluation.support[i]:>7,}")
    if len(names) > _MAX_CLASSES:
        lines.append(f"  ... and {len(names) - _MAX_CLASSES} more classes (--json lists them all)")
    for title, avg in (("macro avg", evaluation.macro), ("weighted avg", evaluation.weighted)):
        lines.append(f"  {title:<{width}}  {_num(avg.get('precision')):>9}  {_num(avg.get('recall')):>6}  "
                     f"{_num(avg.get('f1')):>5}  {evaluation.rows:>7,}")
    if evaluation.confusion is not None and 0 < len(names) <= _MAX_CONFUSION:
        lines.append("  confusion (rows: given label, columns: predicted):")
        cell = max(5, *(len(n) for n in names), len(str(int(evaluation.confusion.max(initial=0)))))
        lines.append(f"  {'':<{width}}  " + " ".join(f"{n[:cell]:>{cell}}" for n in names))
        for name, counts in zip(names, evaluation.confusion):
            lines.append(f"  {name:<{width}}  " + " ".join(f"{int(v):>{cell}}" for v in counts))
    if evaluation.suspects:
        lines.append(f"likely label errors ({len(evaluation.suspects)} shown, least likely label first):")
        for s in evaluation.suspects:
            lines.append(f"  row {s.row} ({printable(s.source)}): label {printable(s.label)!s}, model says "
                         f"{printable(s.predicted)} ({s.confidence:.2f}; label {s.label_confidence:.2f})")
    return lines
