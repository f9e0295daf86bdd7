"""Report figures (matplotlib's Figure API, no pyplot): each function writes one PNG and returns a :class:`Figure`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import matplotlib.ticker
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure

from scratchbench.experiment.predictions import Boundary
from scratchbench.report.collect import RunGroup
from scratchbench.report.tables import seconds_per_epoch

DPI = 100


@dataclass
class Figure:
    """A written PNG, its caption and the report section it belongs to."""

    path: Path
    title: str
    caption: str
    section: str = "figures"
    wide: bool = False  # spans the full page width in the HTML


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def _subplots(rows: int = 1, cols: int = 1, **kw):
    """(figure, axes) like ``pyplot.subplots``, without pyplot: no figure manager, nothing to close.

    The figure keeps one Agg canvas, so ``tight_layout`` and ``savefig`` share a renderer and its
    text-metrics cache (a canvas-less figure makes a new one for each: every label measured twice).
    """
    fig = MplFigure(figsize=kw.pop("figsize"), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, cols, **kw)


def _tight(fig, **kw) -> None:
    """``fig.tight_layout``, done: it leaves a placeholder layout engine behind, for which ``savefig``
    would lay the whole figure out once more (a draw with drawing disabled) to change nothing."""
    fig.tight_layout(**kw)
    fig.set_layout_engine(None)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _tight(fig)
    fig.savefig(path, dpi=DPI)
    return path


# --- R8: activations and derivatives -----------------------------------------------------------

def activations_figure(out: Path, alphas: Sequence[float] = (0.1,)) -> Figure:
    """R8: sigmoid, tanh, ReLU, leaky ReLU (the tutorial's slope 0.1) and derivatives, 2x2.

    Drawn from the engine's own table (``scratchbench.scratch.activations.ACTIVATIONS``).
    """
    from scratchbench.scratch.activations import ACTIVATIONS

    z = np.linspace(-10, 10, 801)
    fig, axes = _subplots(2, 2, figsize=(10, 7))
    panels = [("sigmoid", "sigmoid", [{}]), ("tanh", "tanh", [{}]), ("ReLU", "relu", [{}]),
              ("leaky ReLU", "leaky_relu", [{"alpha": a} for a in alphas])]
    for ax, (title, name, variants) in zip(axes.flat, panels, strict=True):
        fn = ACTIVATIONS[name]
        for i, params in enumerate(variants):
            tag = f" (α={params['alpha']:g})" if params else ""
            ax.plot(z, fn.f(z.copy(), **params), color="tab:blue", alpha=1 - 0.4 * i, label=f"{name}{tag}")
            ax.plot(z, fn.df(z, **params), color="tab:orange", linestyle="--", alpha=1 - 0.4 * i,
                    label=f"derivative{tag}")
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_title(title)
        ax.set_xlabel("z")
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle("R8: activation functions (solid) and derivatives (dashed)")
    path = _save(fig, out / "r8_activations.png")
    slopes = " and ".join(f"{a:g}" for a in alphas)
    return Figure(path, "R8 activation functions", "Sigmoid, tanh, ReLU and leaky ReLU (solid) with their "
                  f"derivatives (dashed) on z ∈ [-10, 10], from the engine's activation table; leaky ReLU has "
                  f"slope {slopes} below zero, as the tutorial's maximum(0.1 z, z).", "r8")


# --- learning curves ---------------------------------------------------------------------------

def _mean_curve(group: RunGroup, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(steps, mean value, mean cumulative seconds) over the seeds of a group."""
    curves = [dict(r.history.get(key, [])) for r in group.runs]
    curves = [c for c in curves if c]
    if not curves:
        return None
    steps = sorted(set.intersection(*(set(c) for c in curves)))
    if not steps:
        return None
    vals = np.array([[c[s] for s in steps] for c in curves]).mean(axis=0)
    secs = []
    for r in group.runs:
        es = dict(r.history.get("epoch_seconds", []))
        if es:  # a logged point stands for every epoch since the previous one (curves may be strided)
            order = sorted(es)
            gaps = np.diff([0] + order)
            cum = np.cumsum([es[s] * max(int(g), 1) for s, g in zip(order, gaps, strict=True)])
            lookup = dict(zip(order, cum, strict=True))
            secs.append([lookup.get(s, np.nan) for s in steps])
        else:
            spe = seconds_per_epoch(r) or np.nan
            secs.append([(s + 1) * spe for s in steps])
    return np.array(steps), vals, np.nanmean(np.array(secs, dtype=float), axis=0)


def learning_curves(groups: Sequence[RunGroup], dataset: str, out: Path) -> Figure | None:
    """Val accuracy and loss vs epoch and vs wall seconds, every configuration of ``dataset`` overlaid."""
    mine = [g for g in groups if g.dataset == dataset]
    fig, axes = _subplots(2, 2, figsize=(12, 7.5))
    drawn = 0
    for g in mine:
        for row, key in enumerate(("val_accuracy", "loss")):
            curve = _mean_curve(g, key)
            if curve is None:
                continue
            steps, vals, secs = curve
            style = dict(marker="o" if len(steps) < 25 else None, ms=3, lw=1.4)
            axes[row, 0].plot(steps, vals, label=g.label, **style)
            axes[row, 1].plot(secs, vals, label=g.label, **style)
            drawn += 1
    if not drawn:
        return None
    for row, name in enumerate(("validation accuracy", "training loss")):
        for col, xl in enumerate(("epoch", "wall seconds (cumulative)")):
            ax = axes[row, col]
            ax.set_xlabel(xl)
            ax.set_ylabel(name)
            if col == 0:
                ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
            if row == 1:
                ax.set_yscale("log") if _positive(ax) else None
    handles, labels = axes[0, 0].get_legend_handles_labels() or axes[1, 0].get_legend_handles_labels()
    if not handles:
        handles, labels = axes[1, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(3, max(1, len(labels))), fontsize=8)
    fig.suptitle(f"Learning curves — {dataset}")
    _tight(fig, rect=(0, 0.04 + 0.025 * ((len(labels) - 1) // 3), 1, 1))
    path = out / f"learning_curves_{slug(dataset)}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return Figure(path, f"Learning curves: {dataset}", "Validation accuracy (top) and training loss (bottom) "
                  "against epoch (left) and cumulative training seconds (right); mean over seeds.", dataset, wide=True)


def _positive(ax) -> bool:
    ys = [y for line in ax.get_lines() for y in np.asarray(line.get_ydata(), dtype=float)]
    return bool(ys) and min(ys) > 0 and max(ys) / min(ys) > 20


# --- accuracy vs time --------------------------------------------------------------------------

def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of points not dominated (less time and at least as accurate), sorted by time."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -np.inf
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def accuracy_time_panels(groups: Sequence[RunGroup]) -> dict[str, list[tuple[float, float, str]]]:
    """``{preset: [(fit seconds, test accuracy, label), ...]}`` for presets with two or more configurations.

    Only like is compared with like: one preset = one data set, one architecture, one schedule.
    """
    data: dict[str, list[tuple[float, float, str]]] = {}
    for g in groups:
        acc, fit = g.metric("test_accuracy"), g.metric("fit_seconds")
        if acc and fit:
            label = g.implementation + (f" ({g.variant})" if g.variant else "")
            data.setdefault(g.experiment, []).append((fit.mean, acc.mean, label))
    return {k: v for k, v in data.items() if len(v) >= 2}


def accuracy_vs_time(groups: Sequence[RunGroup], out: Path) -> Figure | None:
    """Test accuracy against fit time, one panel per preset run by two or more configurations."""
    data = accuracy_time_panels(groups)
    if not data:
        return None
    n = len(data)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = _subplots(rows, cols, figsize=(5.2 * cols, 4.2 * rows), squeeze=False)
    # the grid may hold more axes than presets: the spare ones stay empty
    for ax, (preset, pts) in zip(axes.flat, sorted(data.items()), strict=False):
        front = pareto_front([(t, a) for t, a, _ in pts])
        for i, (t, a, label) in enumerate(pts):
            ax.scatter([t], [a], s=60 if i in front else 35, zorder=3,
                       edgecolors="black" if i in front else "none", label=label)
        fx = [pts[i][0] for i in front]
        fy = [pts[i][1] for i in front]
        ax.step(fx, fy, where="post", color="black", lw=1, linestyle="--", label="Pareto front")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("fit time (s, log)")
        ax.set_ylabel("test accuracy")
        ax.set_title(preset, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle("Accuracy vs training time per preset (black-edged points: Pareto front)")
    _tight(fig, rect=(0, 0, 1, 0.96))
    path = out / "accuracy_vs_time.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return Figure(path, "Accuracy vs training time", "Mean test accuracy against mean fit time, one panel per "
                  "preset that two or more implementations ran (same data, architecture and schedule); the "
                  "dashed step line joins the Pareto-optimal ones (nothing else is both faster and more "
                  "accurate).", "overview", wide=True)


# --- confusion matrices, sample grid, decision boundaries, cost curve ---------------------------

def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return cm


def confusion_figure(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str], title: str,
                     path: Path, dataset: str) -> Figure:
    k = len(class_names)
    cm = confusion_matrix(y_true, y_pred, k)
    size = max(4.0, 0.55 * k + 2.5)
    fig, ax = _subplots(figsize=(size, size * 0.9))
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046, ticks=matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xticks(range(k), [str(c) for c in class_names], rotation=45 if k > 4 else 0,
                  ha="right" if k > 4 else "center")
    ax.set_yticks(range(k), [str(c) for c in class_names])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    thresh = cm.max() / 2 if cm.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if cm[i, j] > thresh else "black")
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f"{title}\naccuracy {acc:.4f}", fontsize=10)
    _save(fig, path)
    return Figure(path, f"Confusion matrix: {title}", f"Test-set confusion matrix ({cm.sum()} samples).", dataset)


def sample_grid(images: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str],
                title: str, path: Path, dataset: str, n: int = 24, seed: int = 0) -> Figure:
    """Test images with predicted/true labels; misclassified ones framed in red (shown first)."""
    wrong = np.flatnonzero(y_true != y_pred)
    right = np.flatnonzero(y_true == y_pred)
    rng = np.random.default_rng(seed)
    n_wrong = min(len(wrong), n // 2)
    idx = np.concatenate([rng.permutation(wrong)[:n_wrong], rng.permutation(right)[: n - n_wrong]]).astype(int)
    cols = 8
    rows = max(1, (len(idx) + cols - 1) // cols)
    fig, axes = _subplots(rows, cols, figsize=(cols * 1.6, rows * 2.05), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, idx, strict=False):  # the last grid row may be partly empty
        img = images[i]
        ax.imshow(img.squeeze(), cmap="gray" if img.shape[-1] == 1 or img.ndim == 2 else None)
        ok = y_true[i] == y_pred[i]
        ax.set_title(f"pred {class_names[y_pred[i]]}\ntrue {class_names[y_true[i]]}", fontsize=7,
                     color="black" if ok else "red")
        if not ok:
            ax.axis("on")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor("red")
                spine.set_linewidth(3)
    fig.suptitle(f"{title} — {len(wrong)} of {len(y_true)} test images misclassified (red)", fontsize=10)
    _save(fig, path)
    return Figure(path, f"Sample predictions: {title}", "Test images with predicted and true labels; "
                  "misclassified ones are framed and labelled in red and shown first.", dataset, wide=True)


def flat_output_note(p: np.ndarray, spread: float = 0.05) -> str:
    """Why a decision-boundary panel is one flat colour: the model outputs the same probability everywhere."""
    if float(np.max(p) - np.min(p)) >= spread:
        return ""
    return f"constant output P(1) ≈ {float(np.mean(p)):.2f} everywhere: stuck on the loss plateau"


def decision_boundaries(panels: Sequence[tuple[str, Boundary]], x: np.ndarray, y: np.ndarray, path: Path,
                        reference: str, dataset: str) -> Figure:
    """P(class 1) over the plane for each model, side by side, test points on top (a preset's ``decision_boundary``)."""
    fig, axes = _subplots(1, len(panels), figsize=(6 * len(panels), 5), squeeze=False)
    for ax, (label, b) in zip(axes[0], panels, strict=True):
        gx, gy = b.grid()
        ax.contourf(gx, gy, b.p_grid, levels=20, cmap="RdBu_r", alpha=0.75, vmin=0, vmax=1)
        ax.contour(gx, gy, b.p_grid, levels=[0.5], colors="black", linewidths=1.5)
        ax.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu_r", edgecolors="black", s=18, vmin=0, vmax=1)
        acc = float(((b.p_points >= 0.5).astype(int) == y).mean())
        flat = flat_output_note(b.p_grid)
        ax.set_title(f"{label}\ntest accuracy {acc:.3f}" + (f"\n{flat}" if flat else ""), fontsize=9)
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
    fig.suptitle(f"{reference}: {dataset} decision boundaries (black line: P = 0.5)")
    _save(fig, path)
    return Figure(path, f"{reference} decision boundaries", "Predicted probability of class 1 over the plane for each "
                  "model, test points on top; the black line is the 0.5 decision boundary. A panel with one flat "
                  "colour is a model that outputs the same probability everywhere (its title says so).",
                  reference.lower(), wide=True)


def cost_curve(groups: Sequence[RunGroup], experiments: Sequence[str], path: Path, reference: str,
               every: int = 100) -> Figure | None:
    """Training cost against iteration (points every ``every`` iterations, as the tutorial prints)."""
    mine = [g for g in groups if g.experiment in experiments]
    fig, ax = _subplots(figsize=(7, 4.2))
    drawn = False
    for g in mine:
        curve = _mean_curve(g, "loss")
        if curve is None:
            continue
        steps, vals, _ = curve
        ax.plot(steps, vals, lw=1, alpha=0.8, label=f"{g.label}")
        sel = steps % every == 0
        if sel.sum() > 1:
            ax.plot(steps[sel], vals[sel], "o", ms=3, color=ax.get_lines()[-1].get_color())
        drawn = True
    if not drawn:
        return None
    ax.set_xlabel("iteration")
    ax.set_ylabel("cost (binary cross-entropy)")
    ax.set_title(f"{reference} runs: cost curve (dots every {every} iterations)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)
    return Figure(path, f"{reference} cost curve",
                  f"Training cost per iteration of {', '.join(experiments)} (mean over "
                  f"seeds); dots mark every {every}th iteration, the points the tutorial prints. A flat line is a net "
                  "stuck at the cost of predicting the class prior.", reference.lower())


def published_curve(groups: Sequence[RunGroup], experiment: str, published: Sequence[float], path: Path,
                    reference: str) -> Figure | None:
    """Validation accuracy per epoch: the tutorial's printed values against ours (a preset's ``published_curve``)."""
    mine = [g for g in groups if g.experiment == experiment]
    curves = [(g, _mean_curve(g, "val_accuracy")) for g in mine]
    curves = [(g, c) for g, c in curves if c is not None]
    if not curves:
        return None
    fig, ax = _subplots(figsize=(7, 4.2))
    ax.plot(range(1, len(published) + 1), published, "k--o", ms=4, label="published")
    for g, (steps, vals, _) in curves:
        ax.plot(steps, vals, "-o", ms=4, label=g.label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_title(f"{experiment}: validation accuracy per epoch")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)
    return Figure(path, f"{reference} {experiment}: published vs ours",
                  "Validation accuracy per epoch as printed by the "
                  "tutorial (dashed) and as measured here (mean over seeds; the quick profile runs fewer epochs).",
                  reference.lower())
