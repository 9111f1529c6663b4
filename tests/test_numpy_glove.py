import numpy as np
import pytest

from d2lmini import gradcheck, numpy_glove


def random_problem(seed=0, V=30, d=5, symmetric=True):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(V, V))
    if symmetric:
        A = (A + A.T) / 2
    W, b = numpy_glove.init_glove(V, d, seed=seed)
    return W, b, A


def test_loss_by_hand():
    W = np.array([[1.0, 0.0], [0.0, 2.0]])
    b = np.array([[0.5], [-1.0]])
    A = np.array([[1.0, 0.0], [0.0, 1.0]])
    # D = W W^T + b + b^T - A = [[1 + 1 - 1, 0 - 0.5], [-0.5, 4 - 2 - 1]]
    assert numpy_glove.glove_loss(W, b, A) == pytest.approx(1 + 0.25 + 0.25 + 1)


def test_pair_losses_sum_to_the_loss_one_term_per_unordered_pair():
    W, b, A = random_problem(V=12)
    terms = numpy_glove.glove_pair_losses(W, b, A)
    assert terms.shape == (12 * 13 // 2,)
    assert terms.sum() == pytest.approx(numpy_glove.glove_loss(W, b, A))
    # By hand, on the 2-word example: cells (0,0) 1, (0,1) and (1,0) 0.25 each, (1,1) 1.
    W2, b2 = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[0.5], [-1.0]])
    assert numpy_glove.glove_pair_losses(W2, b2, np.eye(2)) == pytest.approx([1.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="symmetric"):
        numpy_glove.glove_pair_losses(*random_problem(symmetric=False))


@pytest.mark.parametrize("symmetric", [True, False])
def test_gradient_matches_finite_differences(symmetric):
    W, b, A = random_problem(symmetric=symmetric)
    gW, gb = numpy_glove.glove_grad(W, b, A)
    worst = gradcheck.check_gradient(lambda: numpy_glove.glove_loss(W, b, A), {"W": W, "b": b},
                                     {"W": gW, "b": gb}, num_checks=30)
    assert max(worst.values()) < 1e-6


def test_gradient_check_catches_a_wrong_gradient():
    W, b, A = random_problem()
    gW, gb = numpy_glove.glove_grad(W, b, A)
    worst = gradcheck.check_gradient(lambda: numpy_glove.glove_loss(W, b, A), {"W": W}, {"W": gW / 2})
    assert worst["W"] > 0.3  # the factor-2 slip of forgetting the symmetric sum


def test_full_batch_training_lowers_both_losses():
    W, b, _ = random_problem(V=20, d=3)
    W_true, b_true = numpy_glove.init_glove(20, 3, seed=7, scale=1.0)
    A = W_true @ W_true.T + b_true + b_true.T  # a target the model can fit
    start = numpy_glove.glove_loss(W, b, A)
    history = numpy_glove.train_glove_full_batch(W, b, A, A, num_epochs=50)
    assert history["train"][-1] < 0.5 * start
    assert history["valid"] == history["train"]
    assert all(np.diff(history["train"]) <= 1e-9)


def test_errors():
    W, b, A = random_problem()
    with pytest.raises(ValueError, match="log_cooc must have shape"):
        numpy_glove.glove_loss(W, b, A[:5, :5])
    with pytest.raises(ValueError, match="lr must be a number > 0"):
        numpy_glove.train_glove_full_batch(W, b, A, lr=-1.0)
    with pytest.raises(ValueError, match="num_checks"):
        gradcheck.check_gradient(lambda: 0.0, {"W": W}, {"W": W}, num_checks=0)
