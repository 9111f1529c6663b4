"""show_source: the chapters see the package's code as written, its argument rules above the body."""

import inspect
import textwrap

import pytest

import d2lmini
from d2lmini import fast_skipgram
from d2lmini.plotting import show_source


def test_a_function_is_shown_as_written_with_its_rules_above_the_body():
    shown = show_source(fast_skipgram.train_skipgram_fast).data
    assert shown == inspect.getsource(fast_skipgram.train_skipgram_fast)
    assert shown.startswith("@rules(") and "_checks." not in shown


def test_a_method_is_dedented():
    shown = show_source(d2lmini.SkipGram.forward).data
    assert shown == textwrap.dedent(inspect.getsource(d2lmini.SkipGram.forward)) and shown.startswith("def forward(")


def test_live_curve_drops_its_progress_text_when_training_ends():
    import torch

    from d2lmini.plotting import LiveCurve
    from d2lmini.training import StepResult, fit

    curve = LiveCurve(num_epochs=2, ylabel="loss", min_interval=0.0)  # draw at every call
    for step in range(1, 4):
        curve(step / 2, {"loss": 1.0 / step})
    assert curve.ax.get_title() == "[###############-----] epoch 1.50/2: loss 0.3333"
    curve.close()
    assert curve.ax.get_title() == ""
    assert curve.series["loss"] == ([0.5, 1.0, 1.5], [1.0, 0.5, 1.0 / 3])
    # The training loop closes it: the figure a page keeps has no progress text.
    trained = LiveCurve(num_epochs=1)
    fit(lambda batch: StepResult(torch.tensor(1.0), 1, 1), lambda epoch: [0, 1], 1, torch.device("cpu"), 0.1,
        callback=trained)
    assert trained.series["loss"] and trained.ax.get_title() == ""


def test_live_curve_draws_its_reference_levels_in_the_legend():
    from d2lmini.plotting import LiveCurve

    curve = LiveCurve(num_epochs=1, references={"uniform guess": 9.2, "by frequency": 7.5})
    curve(0.5, {"loss": 8.0})
    curve.close()
    levels = {line.get_label(): line.get_ydata()[0] for line in curve.ax.get_lines()[1:]}
    assert levels == {"uniform guess": 9.2, "by frequency": 7.5}
    assert [t.get_text() for t in curve.ax.get_legend().get_texts()] == ["loss", "uniform guess", "by frequency"]


def test_live_curve_refuses_a_reference_level_that_is_not_a_number():
    from d2lmini.plotting import LiveCurve

    with pytest.raises(TypeError, match=r"references\['guess'\] must be a real number, got 'high'"):
        LiveCurve(references={"guess": "high"})


def test_scatter_words_with_groups_labels_only_the_groups_words_without_overlap():
    import matplotlib.pyplot as plt
    import numpy as np

    from d2lmini.plotting import scatter_words

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(50)]
    points = rng.normal(size=(50, 2)) * 0.01  # a tight cluster: labels must move apart
    groups = {"first": words[:4], "second": words[4:8]}
    fig, ax = plt.subplots(figsize=(7, 6))
    scatter_words(points, words, ax=ax, groups=groups)
    labels = [t for t in ax.texts]
    assert sorted(t.get_text() for t in labels) == sorted(words[:8])
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in labels]
    overlapping = sum(a.overlaps(b) for k, a in enumerate(boxes) for b in boxes[k + 1:])
    assert overlapping == 0
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["other words", "first", "second"]
    with pytest.raises(ValueError, match="not among the points"):
        scatter_words(points, words, groups={"missing": ["nope"]})
    _, ax = plt.subplots()
    scatter_words(points[:8], words[:8], ax=ax, groups=groups)  # every point in a group
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["first", "second"]
    plt.close("all")


def test_plot_differences_marks_clear_differences_and_keeps_rows_in_order():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from d2lmini.evaluation import Difference
    from d2lmini.plotting import plot_differences

    rows = {
        "clear": Difference(0.3, (0.1, 0.5), 100),
        "unclear": Difference(0.1, (-0.2, 0.4), 100),
    }
    fig, ax = plt.subplots()
    plot_differences(ax, rows, scale=10)
    bars = [line for line in ax.lines if len(line.get_xdata()) == 2 and line.get_linestyle() == "-"]
    assert [tuple(bar.get_xdata()) for bar in bars] == [(1.0, 5.0), (-2.0, 4.0)]
    assert [bar.get_color() for bar in bars] == ["black", "0.6"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["clear", "unclear"]
    assert ax.get_ylim() == (1.5, -0.5)  # the first row on top
    plt.close(fig)
    fig, ax = plt.subplots()
    plot_differences(ax, {"all above 0": Difference(0.3, (0.0, 0.5), 100)})
    left, right = ax.get_xlim()
    assert left < -0.04 * (right - left)  # the dashed line at 0 is not on the frame
    plt.close(fig)


def test_plot_differences_by_test_draws_one_panel_per_benchmark_and_rejects_others():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from d2lmini.evaluation import Difference
    from d2lmini.plotting import plot_differences_by_test

    rows = {"A - B": Difference(0.02, (0.01, 0.03), 50)}
    fig = plot_differences_by_test({"wordsim353": rows, "analogy": rows})
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["WordSim-353", "analogies"]
    analogy_bar = [line for line in fig.axes[1].lines if line.get_linestyle() == "-"][0]
    assert tuple(analogy_bar.get_xdata()) == pytest.approx((1.0, 3.0))  # in points
    plt.close(fig)
    with pytest.raises(ValueError, match="unknown benchmarks"):
        plot_differences_by_test({"wordsim": rows})
