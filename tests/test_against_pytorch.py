"""Cross-checks against PyTorch (only where it is installed: pip install 'chainrule[bench]')."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def test_forward_backward_and_adam_steps_match_pytorch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 5))
    y = rng.integers(0, 4, 16)
    model = cr.Model([cr.Dense(5, 8, init="he", dtype=np.float64, rng=1), cr.ReLU(),
                      cr.Dense(8, 4, init="he", dtype=np.float64, rng=2), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(0.01, epsilon=1e-7))
    reference = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))
    reference = reference.double()
    with torch.no_grad():
        for linear, (w, b) in zip(reference[::2], model.get_parameters(), strict=True):
            linear.weight.copy_(torch.from_numpy(w.T.copy()))
            linear.bias.copy_(torch.from_numpy(b.ravel()))
    optimizer = torch.optim.Adam(reference.parameters(), lr=0.01, eps=1e-7)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(5):
        history = model.train(X, y, epochs=1, print_every=None, progress=False)
        loss = torch.nn.functional.cross_entropy(reference(Xt), yt)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        assert history["loss"][-1] == pytest.approx(loss.item(), rel=1e-10)
    for linear, (w, b) in zip(reference[::2], model.get_parameters(), strict=True):
        np.testing.assert_allclose(w, linear.weight.detach().numpy().T, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(b.ravel(), linear.bias.detach().numpy(), rtol=1e-9,
                                   atol=1e-12)


@pytest.mark.parametrize("layer, reference", [
    (cr.Sigmoid, torch.sigmoid), (cr.Tanh, torch.tanh), (cr.Softmax, lambda t: t.softmax(1)),
    (lambda: cr.LeakyReLU(0.1), lambda t: torch.nn.functional.leaky_relu(t, 0.1)),
])
def test_activation_gradients_match_pytorch(layer, reference):
    rng = np.random.default_rng(1)
    x, upstream = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    ours = layer()
    out = ours.forward(x)
    ours.backward(upstream)
    xt = torch.from_numpy(x).requires_grad_()
    theirs = reference(xt)
    theirs.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(out, theirs.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours.dinputs, xt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_soft_target_cross_entropy_matches_pytorch():
    rng = np.random.default_rng(2)
    inputs = rng.normal(size=(8, 4))
    targets = rng.dirichlet(np.ones(4), size=8)  # probability targets, as label smoothing gives
    model = cr.Model([cr.Dense(4, 4, init="he", dtype=np.float64, rng=3), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.SGD(0.1))
    dense = torch.nn.Linear(4, 4).double()
    with torch.no_grad():
        dense.weight.copy_(torch.from_numpy(model.layers[0].weights.T.copy()))
        dense.bias.zero_()
    ours = model.train(inputs, targets, epochs=1, print_every=None, progress=False)["loss"][0]
    loss = torch.nn.functional.cross_entropy(dense(torch.from_numpy(inputs)),
                                             torch.from_numpy(targets))
    loss.backward()
    assert ours == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(model.layers[0].dweights, dense.weight.grad.numpy().T,
                               rtol=1e-10, atol=1e-14)
