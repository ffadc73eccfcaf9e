"""The playground as a lesson (issue 20): one notation, a visible selection, the chain in view
and stepped through, nothing stale, a chart that reads alone, and a download that says what
it takes.

The session-level tests run anywhere; those marked ``browser`` drive headless Chromium as
tests/test_playground_browser.py does (its fixtures are reused). Set
CHAINRULE_SCREENSHOT_DIR=docs to write the README's screenshots (docs/playground.png,
docs/playground-step.png).
"""

import csv
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from chainrule import Model
from chainrule.cli import main as cli_main
from chainrule.playground import recipe
from chainrule.playground.session import Session
from chainrule.playground.settings import FEATURES

QUICK = {"samples": 60, "layers": [4, 4], "grid": 16}


# -- the session: frames carry their network ---------------------------------------------------


@pytest.mark.parametrize("change", [
    pytest.param({"dataset": "xor"}, id="dataset"),
    pytest.param({"seed": 3}, id="seed"),
    pytest.param({"layers": [3]}, id="layers"),
    pytest.param({"features": ["x1", "x2", "x1x2"]}, id="features"),
    pytest.param({"activation": "tanh"}, id="activation"),
])
def test_a_new_network_gets_a_new_id_and_its_frames_and_answers_carry_it(change):
    session = Session(QUICK)
    first = session.network()["id"]
    assert session.step()["network"] == first
    assert session.explain(0, "weights", [0, 0])["network"] == first
    assert session.neuron(0, 0)["network"] == first
    assert session.update(change) in ("data", "model")
    second = session.network()["id"]
    assert second != first
    assert session.frame()["network"] == second
    assert session.explain(0, "biases", [0, 0])["network"] == second
    assert session.neuron(0, 0)["network"] == second


@pytest.mark.parametrize("change", [{"learning_rate": 0.01}, {"batch_size": 7}, {"grid": 32}])
def test_a_live_change_keeps_the_network_and_its_id(change):
    session = Session(QUICK)
    first = session.network()["id"]
    assert session.update(change) == "live"
    assert session.frame()["network"] == session.network()["id"] == first


def test_reset_and_regenerate_are_new_networks():
    session = Session(QUICK)
    ids = [session.network()["id"]]
    session.reset()
    ids.append(session.network()["id"])
    session.regenerate()
    ids.append(session.network()["id"])
    assert len(set(ids)) == 3


# -- the task's own figures --------------------------------------------------------------------


def test_a_regression_frame_has_r2_as_scikit_learn_computes_it_and_no_accuracy():
    metrics = pytest.importorskip("sklearn.metrics")
    session = Session({**QUICK, "dataset": "sine", "features": ["x1", "sinx1"], "noise": 0.1})
    frame = session.step()
    assert "train_accuracy" not in frame and "test_accuracy" not in frame
    for name, X, y in (("train", session.X_train, session.y_train),
                       ("test", session.X_test, session.y_test)):
        expected = metrics.r2_score(y, session.model.predict(X))
        assert frame[f"{name}_r2"] == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("dataset", ["spiral", "xor", "circle"])
def test_a_classification_frame_has_accuracy_and_no_r2(dataset):
    frame = Session({**QUICK, "dataset": dataset}).step()
    assert 0 <= frame["test_accuracy"] <= 1 and "test_r2" not in frame


def test_the_network_message_names_each_layers_activation_as_explain_does():
    session = Session({**QUICK, "dropout": 0.2})
    network = session.network()
    assert network["activations"] == ["ReLU", "ReLU", "Softmax"]
    assert network["n_layers"] == len(session.model.layers)
    # With dropout, the layer after a Dense layer is still its activation.
    for dense, name in zip(network["dense_layers"], network["activations"], strict=True):
        assert type(session.model.layers[dense + 1]).__name__ == name


# -- the download records what it takes --------------------------------------------------------


CASES = [
    pytest.param({"dataset": "spiral", "features": ["x1", "x2", "x1sq", "sinx2"]}, id="spiral"),
    pytest.param({"dataset": "xor", "features": ["x1x2", "x2sq"], "noise": 0.1}, id="xor"),
    pytest.param({"dataset": "sine", "features": ["x1", "sinx1"], "noise": 0.05}, id="sine"),
]


def downloaded(session, tmp_path) -> Model:
    path = tmp_path / "page.chainrule"
    path.write_bytes(session.model_file())
    return Model.load(path)


@pytest.mark.parametrize("settings", CASES)
def test_the_downloaded_model_names_its_features_data_seed_and_split(settings, tmp_path):
    session = Session({**QUICK, **settings, "seed": 11})
    session.train(3)
    meta = downloaded(session, tmp_path).metadata
    keys = session.feature_keys
    assert meta["features"] == [FEATURES[key][0] for key in keys]
    assert meta["n_features"] == len(keys)
    # Each formula, evaluated on the raw points, gives the column the network was trained on.
    points = session.points_train
    for j, name in enumerate(meta["features"]):
        column = eval(meta["formulas"][name], {"np": np, "X": points})
        np.testing.assert_array_equal(column, session.X_train[:, j])
    assert meta["dataset"] == settings["dataset"] and meta["data"]["seed"] == 11
    assert meta["split"] == {**meta["split"], "seed": 11, "train_ratio": 0.7,
                             "n_train": len(session.X_train), "n_test": len(session.X_test)}
    assert meta["range"]["min"] == session.X_train.min(axis=0).tolist()
    assert meta["task"] == ("regression" if settings["dataset"] == "sine" else "classification")
    for name in meta["features"]:
        assert name in meta["inputs"]


def write_csv(path, header, rows):
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.mark.parametrize("settings", CASES)
def test_chainrule_predict_on_the_download_gives_the_pages_predictions(settings, tmp_path,
                                                                       capsys):
    session = Session({**QUICK, **settings})
    session.train(5)
    path = tmp_path / "page.chainrule"
    path.write_bytes(session.model_file())
    meta = Model.load(path).metadata
    # Raw points the page never saw, turned into the model's features by its own formulas.
    raw = np.random.default_rng(5).uniform(-1, 1, (40, session.points_train.shape[1]))
    features = np.column_stack([eval(meta["formulas"][name], {"np": np, "X": raw})
                                for name in meta["features"]])
    write_csv(tmp_path / "points.csv", meta["features"], features.tolist())
    out = tmp_path / "predictions.csv"
    args = ["predict", str(path), str(tmp_path / "points.csv"), "--output", str(out)]
    if meta["task"] == "classification":
        args.append("--proba")
    assert cli_main(args) == 0
    with out.open(encoding="utf-8") as file:
        got = np.array([[float(v) for v in row] for row in list(csv.reader(file))[1:]])
    expected = session.model.predict(recipe.features(raw, session.feature_keys))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)  # written with 6-8 digits
    capsys.readouterr()
    # The raw points themselves are refused, and the refusal says how to compute the features.
    raw_names = ["x₁", "x₂"][:raw.shape[1]]
    if raw_names != meta["features"]:
        write_csv(tmp_path / "raw.csv", raw_names, raw.tolist())
        assert cli_main(["predict", str(path), str(tmp_path / "raw.csv")]) != 0
        error = capsys.readouterr().err
        assert all(f"{name} = {meta['formulas'][name]}" in error for name in meta["features"])


def test_chainrule_explain_on_the_download_agrees_with_the_pages_explanation(tmp_path, capsys):
    session = Session({**QUICK, "features": ["x1", "x2", "x1sq"]})
    session.train(5)
    path = tmp_path / "page.chainrule"
    path.write_bytes(session.model_file())
    meta = Model.load(path).metadata
    write_csv(tmp_path / "train.csv", [*meta["features"], meta["target"]],
              np.column_stack([session.X_train, session.y_train]).tolist())
    page = session.explain(1, "weights", [2, 1])
    capsys.readouterr()
    layer = session.dense[1]
    assert cli_main(["explain", str(path), "--dataset", str(tmp_path / "train.csv"),
                     "--layer", str(layer), "--index", "2,1"]) == 0
    printed = capsys.readouterr().out
    assert f"∂L/∂W{layer}[2, 1]" in printed and page["steps"][-1]["result"] in printed
    value = float(printed.split(f"= ∂L/∂W{layer}[2, 1] ")[1].split()[0])
    assert value == pytest.approx(page["value"], rel=1e-5)


@pytest.mark.parametrize("settings", CASES)
def test_show_code_writes_the_same_metadata_as_the_download(settings, tmp_path):
    session = Session({**QUICK, **settings})
    session.train(2)
    meta = downloaded(session, tmp_path).metadata
    (tmp_path / "script.py").write_text(session.code(), encoding="utf-8")
    result = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, capture_output=True,
                            text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    assert Model.load(tmp_path / "playground.chainrule").metadata == meta


# -- in the browser ----------------------------------------------------------------------------

try:  # the browser's fixtures, where Playwright and uvicorn are installed
    from test_playground_browser import FAST, Tab, server  # noqa: F401
    MISSING = None
except pytest.skip.Exception as skipped:
    FAST, MISSING = "", str(skipped)

BROWSER = [pytest.mark.browser, pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]

SIZES = [pytest.param((1366, 768), id="1366x768"), pytest.param((1920, 1080), id="1920x1080")]
WEIGHT = '.link-hit[data-dense="1"][data-i="4"][data-j="6"]'


@pytest.fixture
def tab(request):
    browser, server = request.getfixturevalue("browser"), request.getfixturevalue("server")
    tabs = []

    def open_tab(hash_="", size=(1366, 768)):
        opened = Tab(browser, server, hash_)
        opened.page.set_viewport_size({"width": size[0], "height": size[1]})
        tabs.append(opened)
        return opened

    yield open_tab
    for opened in tabs:
        opened.close()


def in_view(page, selector: str) -> bool:
    box = page.evaluate("""(selector) => {
      const box = document.querySelector(selector).getBoundingClientRect().toJSON();
      return { ...box, vh: window.innerHeight, vw: window.innerWidth };
    }""", selector)
    inside = box["top"] >= 0 and box["left"] >= 0 and box["bottom"] <= box["vh"] \
        and box["right"] <= box["vw"]
    assert inside, (selector, box)
    return inside


def screenshot(page, name: str) -> None:
    folder = os.environ.get("CHAINRULE_SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=os.path.join(folder, name))


def explained(page, selector=WEIGHT):
    page.page.locator(selector).dispatch_event("click")
    page.page.locator("#explain-body .relative-error").wait_for()


def lit(page) -> list:
    return page.page.evaluate("""() => [...document.querySelectorAll('#network .lit')].map(
      (el) => `${el.tagName}:${el.dataset.dense ?? el.dataset.column}:${el.dataset.i ?? ''}:`
        + `${el.dataset.j ?? el.dataset.index}`)""")


@BROWSER[0]
@BROWSER[1]
@pytest.mark.parametrize("size", SIZES)
def test_after_a_click_the_chain_is_in_view_and_the_selection_shows(tab, size):
    page = tab(FAST + "&show_test=1", size)
    page.play_until("() => Number(document.body.dataset.epoch) >= 100")
    explained(page)
    # In view without scrolling: the title, the whole chain, the check and the drawing.
    assert page.page.evaluate("() => window.scrollY") == 0
    for selector in ("#explain h3", "#explain table.chain", "#explain .check", "#network svg"):
        assert in_view(page.page, selector), selector
    # The clicked line is marked, and stays marked while training redraws the picture.
    selected = page.page.locator("#network .selected")
    assert selected.count() == 1
    assert selected.evaluate("(el) => [el.tagName, el.dataset.dense, el.dataset.i, "
                             "el.dataset.j]") == ["path", "1", "4", "6"]
    assert page.page.locator("#explain h3").inner_text().startswith("∂L/∂W2[4, 6]")
    page.page.click("#step")
    page.page.wait_for_function("() => Number(document.body.dataset.epoch) >= 110")
    assert page.page.locator('#network path.link.selected[data-i="4"][data-j="6"]').count() == 1
    if size == (1366, 768):
        screenshot(page.page, "playground.png")
    # A bias, then a neuron: the mark moves.
    page.page.locator('.bias[data-dense="0"][data-j="5"]').dispatch_event("click")
    page.page.wait_for_function(
        "() => document.querySelector('#explain h3').textContent.includes('b0[5]')")
    assert page.page.locator("#network .selected").evaluate(
        "(el) => [el.tagName, el.dataset.j]") == ["rect", "5"]
    page.page.locator('.node.neuron[data-column="2"][data-index="3"]').click()
    page.page.wait_for_function(
        "() => document.querySelector('#explain h3').textContent.includes('z2[3]')")
    assert page.page.locator("#network .selected").evaluate(
        "(el) => [el.dataset.column, el.dataset.index]") == ["2", "3"]
    assert in_view(page.page, "#explain table.incoming")
    assert page.errors == []


@BROWSER[0]
@BROWSER[1]
def test_every_name_on_the_page_is_explains(tab):
    page = tab(FAST + "&layers=8,8,8&dropout=0.1")  # dropout: layers[L+1] is still a
    names = page.page.locator(".column-name").evaluate_all(
        "(labels) => labels.map((l) => [...l.children].map((c) => c.textContent).join(' '))")
    # Dense layers at 0, 3, 6, 9 (each followed by its activation and a dropout layer).
    assert [" ".join(n.split()) for n in names] == [
        "x inputs", "W0 · b0 z0 → a1", "W3 · b3 z3 → a4", "W6 · b6 z6 → a7", "W9 · b9 z9 → ŷ"]
    page.page.locator(WEIGHT).dispatch_event("mouseenter")
    assert page.page.inner_text("#tooltip").startswith("W3[4, 6] = ")
    assert "a2[4] in z3[6]" in page.page.inner_text("#tooltip")
    page.page.locator('.bias[data-dense="2"][data-j="1"]').dispatch_event("mouseenter")
    assert "b6[1]" in page.page.inner_text("#tooltip") and "z6[1]" in page.page.inner_text(
        "#tooltip")
    page.page.locator('.node.neuron[data-column="2"][data-index="3"]').hover()
    assert page.page.inner_text("#zoom figcaption").startswith("a4[3] = ReLU(z3[3])")
    page.page.locator('.node.output[data-index="1"]').hover()
    assert page.page.inner_text("#zoom figcaption").startswith("ŷ[1] = Softmax(z9)[1]")
    explained(page)
    text = page.page.inner_text("#explain-body")
    # The panel's names are the drawing's: from z9 through the dropout's a8, W6's z6 and
    # input a5 (neuron 6 of the dropout after a4 = ReLU(z3)) down to W3.
    for name in ("∂L/∂z9", "∂L/∂a8", "∂L/∂z6", "∂L/∂a5[6]", "∂a4[6]/∂z3[6]", "∂L/∂W3[4, 6]"):
        assert name in text, name
    assert page.errors == []


@BROWSER[0]
@BROWSER[1]
def test_hovering_a_chain_row_lights_the_path_it_follows(tab):
    page = tab(FAST)
    explained(page)  # W2[4, 6]: loss at z6, Σ through W6, ReLU, Σ through W4 from neuron 6...
    rows = page.page.locator("#explain table.chain tr")
    rows.first.hover()
    assert {item.split(":")[1] for item in lit(page)} == {"4"}  # the output column's nodes
    # The Σ row through W4 from a3[6]: the 8 lines leaving neuron 6 of the second hidden layer.
    page.page.locator('#explain table.chain tr[data-step="3"]').first.hover()
    lines = [item for item in lit(page) if item.startswith("path")]
    assert sorted(lines) == sorted(f"path:2:6:{j}" for j in range(8))
    # The parameter row: the clicked line itself.
    last = page.page.locator("#explain table.chain tr[data-step]").nth(-2)
    last.hover()
    assert "path:1:4:6" in lit(page)
    page.page.mouse.move(5, 5)
    assert lit(page) == []
    assert page.errors == []


@BROWSER[0]
@BROWSER[1]
def test_step_walks_the_chain_one_local_derivative_at_a_time(tab):
    page = tab(FAST)
    page.play_until("() => Number(document.body.dataset.epoch) >= 60")
    explained(page)
    n = page.page.locator("#explain table.chain tr[data-step]").evaluate_all(
        "(rows) => Math.max(...rows.map((r) => Number(r.dataset.step)))")
    assert page.page.locator("#chain-back").is_disabled()
    seen = []
    for t in range(n + 1):
        page.page.click("#chain-step")
        current = page.page.locator("#explain table.chain tr.current")
        assert current.count() >= 1
        assert {int(s) for s in current.evaluate_all("(r) => r.map((x) => x.dataset.step)")} \
            == {t}
        text = page.page.inner_text(".walk-text")
        assert text.startswith(f"step {t + 1} of {n + 1}, sample 0")
        seen.append(text)
        if t < n:
            assert lit(page), t
        if t == 3:
            screenshot(page.page, "playground-step.png")
    assert "∂L/∂z6 = [" in seen[0]  # the output's ∂L/∂z first
    assert "∂L/∂W2[4, 6] = ∂L/∂z2[6] × ∂z2[6]/∂W2[4, 6]" in seen[n - 1]
    # Past the end nothing moves; back walks back.
    assert page.page.locator("#chain-step").is_disabled()
    page.page.locator("#chain-step").dispatch_event("click")
    assert page.page.inner_text(".walk-text") == seen[-1]
    page.page.click("#chain-back")
    assert page.page.inner_text(".walk-text") == seen[-2]
    # Another sample: other numbers, the same step.
    page.page.select_option("#chain-sample", "2")
    assert page.page.inner_text(".walk-text").startswith(f"step {n} of {n + 1}, sample 2")
    assert page.errors == []


@BROWSER[0]
@BROWSER[1]
@pytest.mark.parametrize("control", ["dataset", "layers", "features", "reset"])
def test_changing_the_data_the_network_or_the_features_clears_the_panel(tab, control):
    page = tab(FAST)
    explained(page)
    before = page.page.evaluate("() => document.body.dataset.network")
    if control == "dataset":
        page.page.select_option("#dataset", "xor")
    elif control == "layers":
        page.page.locator(".neuron-count").first.locator("button", has_text="−").click()
    elif control == "features":
        page.page.locator('.node.feature[data-index="x1sq"]').click()
    else:
        page.page.click("#reset")
    page.page.wait_for_function(f"() => document.body.dataset.network !== '{before}'")
    assert page.page.locator("#explain h3").count() == 0
    assert page.page.locator("#network .selected").count() == 0
    assert "network." in page.page.inner_text("#explain-body")
    assert page.errors == []


@BROWSER[0]
@BROWSER[1]
def test_a_live_change_keeps_the_explanation(tab):
    page = tab(FAST)
    explained(page)
    page.page.fill("#learning_rate", "0.02")
    page.page.dispatch_event("#learning_rate", "change")
    page.page.wait_for_function("() => location.hash.includes('learning_rate=0.02')")
    assert page.page.locator("#explain h3").count() == 1
    assert page.page.locator("#network .selected").count() == 1


def burn(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


@BROWSER[0]
@BROWSER[1]
def test_frames_of_an_old_network_are_dropped_under_cpu_load(tab):
    # A burner keeps this process's CPU busy while networks change under a playing page.
    stop = threading.Event()
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    worker = threading.Thread(target=burn, args=(stop,))
    worker.start()
    try:
        for _ in range(3):
            shared = tab("layers=4&wings=2")
            shared.page.wait_for_function(
                "() => document.querySelectorAll('.node.neuron').length === 4")
        page = tab(FAST)
        page.page.click("#play")
        for layers in ("4,4", "8", "2,2,2", "6,6,6,6,6,6", "3"):
            page.page.evaluate(f"() => {{ location.hash = location.hash.replace("
                               f"/layers=[^&]*/, 'layers={layers}'); }}")
            time.sleep(0.15)
        page.page.wait_for_function(
            "() => document.querySelectorAll('.node.neuron').length === 3")
        start = page.epoch()
        page.page.wait_for_function(f"() => Number(document.body.dataset.epoch) > {start}",
                                    timeout=30_000)  # still acked: training goes on
        page.pause()
    finally:
        stop.set()
        burner.terminate()
        burner.wait()
        worker.join()
    assert page.errors == []


@BROWSER[0]
@BROWSER[1]
def test_the_chart_has_axes_and_a_legend_and_regression_speaks_of_points(tab):
    page = tab(FAST + "&dataset=sine&features=x1,sinx1")
    page.page.wait_for_function("() => document.body.dataset.task === 'regression'")
    assert page.page.inner_text("#samples-label") == "points"
    assert not page.page.locator("#classes").is_visible()
    data = page.page.inner_text("#data").lower()
    assert "class" not in data
    assert page.page.inner_text("#test-figure-name") == "R²"
    assert "accuracy" not in page.page.inner_text("#output").lower()
    assert "MSE" in page.page.inner_text("#output")
    page.page.click("#step")
    page.page.wait_for_function("() => document.getElementById('test-figure').textContent "
                                "!== '—'")
    assert -10 < page.number("#test-figure") <= 1
    # Ink in the chart's margins: the axes' numbers and names, and the legend above.
    ink = page.page.evaluate("""() => {
      const canvas = document.getElementById('loss-chart');
      const copy = document.createElement('canvas');
      Object.assign(copy, { width: canvas.width, height: canvas.height });
      const context = copy.getContext('2d', { willReadFrequently: true });
      context.drawImage(canvas, 0, 0);
      const count = (x, y, w, h) => {
        const data = context.getImageData(x, y, w, h).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) n += data[i] > 0;
        return n;
      };
      return { left: count(0, 20, 14, canvas.height - 50), bottom: count(50,
        canvas.height - 14, canvas.width - 60, 14), legend: count(canvas.width - 130, 0, 128, 16) };
    }""")
    assert ink["left"] > 20 and ink["bottom"] > 20 and ink["legend"] > 40, ink
    classes = tab(FAST)
    assert classes.page.inner_text("#samples-label") == "points per class"
    assert classes.page.inner_text("#test-figure-name") == "accuracy"
    assert page.errors == [] and classes.errors == []


@BROWSER[0]
@BROWSER[1]
def test_the_download_takes_the_features_show_code_computes(tab, tmp_path, capsys):
    page = tab(f"dataset=circle&samples=60&layers=4&features=x1,x2,x1sq,x2sq&{FAST}")
    page.play_until("() => Number(document.body.dataset.epoch) >= 20")
    with page.page.expect_download() as download:
        page.page.click("#download")
    download.value.save_as(tmp_path / "page.chainrule")
    meta = Model.load(tmp_path / "page.chainrule").metadata
    assert meta["features"] == ["x₁", "x₂", "x₁²", "x₂²"]
    assert meta["dataset"] == "circle" and meta["data"]["samples"] == 60
    raw = np.random.default_rng(0).uniform(-1, 1, (25, 2))
    features = np.column_stack([raw, raw ** 2])
    write_csv(tmp_path / "points.csv", meta["features"], features.tolist())
    assert cli_main(["predict", str(tmp_path / "page.chainrule"), str(tmp_path / "points.csv"),
                     "--proba", "--output", str(tmp_path / "out.csv")]) == 0
    with (tmp_path / "out.csv").open(encoding="utf-8") as file:
        got = np.array([[float(v) for v in row] for row in list(csv.reader(file))[1:]])
    expected = Model.load(tmp_path / "page.chainrule").predict(features)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert page.errors == []


@BROWSER[0]
@BROWSER[1]
def test_resizing_lays_the_drawing_out_again_and_keeps_the_selection(tab):
    page = tab(FAST)
    explained(page)
    for width, height in ((1920, 1080), (1100, 700), (1366, 768)):
        page.page.set_viewport_size({"width": width, "height": height})
        page.page.wait_for_timeout(150)
        assert page.page.locator("#network path.link.selected").count() == 1
        box = page.page.locator("#network svg").bounding_box()
        assert box["width"] >= 420
    assert page.errors == []



# -- hostile pass: the lit path follows the panel, the chain in view on a smaller screen -------


def walk_to(page, steps: int) -> list:
    for _ in range(steps):
        page.page.click("#chain-step")
    page.page.wait_for_function(
        f"() => document.querySelector('.walk-text').dataset.step === '{steps - 1}'")
    return sorted(lit(page))


@BROWSER[0]
@BROWSER[1]
@pytest.mark.parametrize("size", [(1920, 1080), (1100, 700), (1280, 720)])
def test_resizing_mid_walk_keeps_the_lit_path_of_the_current_step(tab, size):
    page = tab(FAST)
    explained(page)
    before = walk_to(page, 4)
    assert before
    page.page.set_viewport_size({"width": size[0], "height": size[1]})
    # The drawing is laid out again (another width), and the current step is still lit.
    page.page.wait_for_function(
        "() => Math.abs(document.querySelector('#network svg').getAttribute('width') - "
        "Math.max(document.getElementById('network').clientWidth, 420)) < 2")
    page.page.wait_for_function(f"() => document.querySelectorAll('#network .lit').length "
                                f"=== {len(before)}")
    assert sorted(lit(page)) == before
    assert page.page.locator("#explain table.chain tr.current").count() >= 1
    assert page.errors == []


@BROWSER[0]
@BROWSER[1]
@pytest.mark.parametrize("then", ["neuron", "weight", "bias"])
def test_choosing_something_else_mid_walk_turns_the_old_path_off(tab, then):
    page = tab(FAST)
    explained(page)
    assert walk_to(page, 3)
    # Off the panel: a row under a still pointer would light its own path (a hover, not stale).
    page.page.mouse.move(5, 5)
    if then == "neuron":
        page.page.locator('.node.neuron[data-column="1"][data-index="2"]').click()
        title = "z0[2]"
    elif then == "weight":
        page.page.locator('.link-hit[data-dense="0"][data-i="1"][data-j="2"]').dispatch_event(
            "click")
        title = "W0[1, 2]"
    else:
        page.page.locator('.bias[data-dense="2"][data-j="1"]').dispatch_event("click")
        title = "b4[1]"
    page.page.wait_for_function(
        f"() => document.querySelector('#explain h3').textContent.includes('{title}')")
    # Nothing of the old chain's walk stays lit; only the new choice is marked.
    assert lit(page) == []
    assert page.page.locator("#network .selected").count() == 1
    assert page.errors == []


@BROWSER[0]
@BROWSER[1]
@pytest.mark.parametrize("size, scale", [
    pytest.param((1280, 720), 1, id="1280x720"),
    pytest.param((1280, 720), 2, id="1280x720-zoomed"),
    pytest.param((1366, 768), 2, id="1366x768-zoomed"),
])
def test_after_a_click_the_chain_and_its_check_are_in_view_on_a_smaller_screen(tab, browser,
                                                                             server, size,
                                                                             scale):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]},
                            device_scale_factor=scale)
    errors = []
    page.on("console", lambda m: m.type in ("error", "warning") and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{server}/#{FAST}")
        page.wait_for_function("() => document.body.dataset.epoch !== undefined")
        page.locator(WEIGHT).dispatch_event("click")
        page.locator("#explain-body .relative-error").wait_for()
        page.wait_for_function("() => { const b = document.querySelector('#explain .check')"
                               ".getBoundingClientRect(); return b.bottom <= innerHeight; }")
        for selector in ("#explain h3", "#explain table.chain", "#explain .check",
                         "#explain .walk"):
            assert in_view(page, selector), selector
        assert page.locator("#network .selected").count() == 1
        assert errors == []
    finally:
        page.close()


@pytest.mark.parametrize("kind", ["explain", "neuron"])
def test_a_question_may_name_the_network_it_was_asked_on(kind):
    from chainrule.playground.messages import parse_message
    fields = ('"layer": 0, "param": "weights", "index": [0, 0]' if kind == "explain"
              else '"layer": 0, "neuron": 0')
    assert parse_message(f'{{"type": "{kind}", {fields}, "network": 3}}')["network"] == 3
    assert "network" not in parse_message(f'{{"type": "{kind}", {fields}}}')
    for bad in ('"3"', "true", "-1", "1.5", "null"):
        with pytest.raises((TypeError, ValueError), match="network"):
            parse_message(f'{{"type": "{kind}", {fields}, "network": {bad}}}')
    with pytest.raises(ValueError, match="unknown field"):
        parse_message('{"type": "play", "network": 3}')


@BROWSER[0]
@BROWSER[1]
@pytest.mark.parametrize("change", ["layers", "seed", "dataset"])
@pytest.mark.parametrize("click", ["weight", "neuron"])
def test_a_click_on_the_old_network_is_not_answered_on_the_new_one(tab, change, click):
    page = tab(FAST)
    before = page.page.evaluate("() => document.body.dataset.network")
    # The change and then the click, in one go: the click is on the old drawing, but the
    # server builds the new network before it reads the question.
    target = ('.link-hit[data-dense="1"][data-i="4"][data-j="7"]' if click == "weight"
              else '.node.neuron[data-column="2"][data-index="7"]')
    act = {
        "layers": "document.querySelectorAll('.neuron-count')[1]"
                  ".querySelector('button[title=\"remove a neuron\"]').click();",
        "seed": "const seed = document.getElementById('seed'); seed.value = '9';"
                "seed.dispatchEvent(new Event('change'));",
        "dataset": "const d = document.getElementById('dataset'); d.value = 'xor';"
                   "d.dispatchEvent(new Event('change'));",
    }[change]
    page.page.evaluate(f"""() => {{ {act}
      document.querySelector('{target}').dispatchEvent(new MouseEvent('click')); }}""")
    page.page.wait_for_function(f"() => document.body.dataset.network !== '{before}'")
    # A step after: its frame comes after any answer to the old click (one socket, in order).
    page.page.click("#step")
    page.page.wait_for_function("() => Number(document.body.dataset.epoch) >= 1", timeout=60_000)
    assert page.page.locator("#message").is_hidden(), page.page.inner_text("#message-text")
    assert page.page.locator("#explain h3").count() == 0
    assert page.page.locator("#network .selected").count() == 0
    assert "new network" in page.page.inner_text("#explain-body").lower()
    assert page.errors == []


@BROWSER[0]
@BROWSER[1]
@pytest.mark.parametrize("size", [(1920, 1080), (1100, 700), (1280, 720)])
def test_resizing_redraws_the_chart_at_its_new_width(tab, size):
    # While something is explained the chart sits under the drawing, as wide as its column:
    # a canvas left at its old width would stretch the axes' and legend's text.
    page = tab(FAST)
    page.page.click("#step")
    page.page.wait_for_function("() => Number(document.body.dataset.epoch) >= 1")
    explained(page)
    page.page.set_viewport_size({"width": size[0], "height": size[1]})
    page.page.wait_for_function("() => { const c = document.getElementById('loss-chart');"
                                " return c.clientWidth > 0 && c.width === c.clientWidth; }",
                                timeout=10_000)
    assert page.errors == []


OVERLAPS = """() => {
  const texts = [...document.querySelectorAll('.column-name div')].map((d) => {
    const range = document.createRange();
    range.selectNodeContents(d);
    const box = range.getBoundingClientRect();
    return { text: d.textContent, left: box.left, right: box.right, top: Math.round(box.top) };
  });
  const out = [];
  for (const a of texts) for (const b of texts) {
    if (a !== b && a.top === b.top && a.left <= b.left && a.right > b.left - 2) {
      out.push([a.text, b.text]);
    }
  }
  return { overlaps: out, names: texts.map((t) => t.text.replace(/\\s/g, '')) };
}"""


@BROWSER[0]
@BROWSER[1]
@pytest.mark.parametrize("size", [(1366, 768), (1280, 720)])
def test_the_column_names_of_six_hidden_layers_stay_apart_beside_the_panel(tab, size):
    page = tab(FAST + "&layers=8,8,8,8,8,8", size)
    explained(page)  # the panel beside the drawing: the drawing's columns are narrow
    page.page.wait_for_function("() => document.getElementById('network').clientWidth < 600")
    seen = page.page.evaluate(OVERLAPS)
    assert seen["overlaps"] == [], seen
    expected = ["x", "inputs"]
    for k, L in enumerate(range(0, 13, 2)):
        expected += [f"W{L}·b{L}", f"z{L}→" + ("ŷ" if k == 6 else f"a{L + 1}")]
    assert seen["names"] == expected
    assert page.errors == []


@BROWSER[0]
@BROWSER[1]
@pytest.mark.parametrize("regularization", ["l2", "l1"])
def test_the_walks_last_step_adds_the_penalty_when_there_is_one(tab, regularization):
    # With a penalty the gradient is the sum over the samples plus the penalty's own
    # gradient: the last step must not call the whole of it a sum over the samples.
    page = tab(FAST + f"&regularization={regularization}&regularization_rate=0.1")
    explained(page)
    n = page.page.locator("#explain table.chain tr[data-step]").evaluate_all(
        "(rows) => Math.max(...rows.map((r) => Number(r.dataset.step)))")
    walk_to(page, n + 1)
    text = page.page.inner_text(".walk-text")
    assert text.startswith(f"step {n + 1} of {n + 1}")
    penalty = page.page.locator("#explain table.chain tr[data-step]").evaluate_all(
        "(rows) => rows.filter((r) => r.querySelector('td.op').textContent === '+')"
        ".map((r) => r.querySelector('td.numbers').textContent)")
    assert len(penalty) == 1
    assert f"+ the penalty's gradient {penalty[0]}" in text, text
    last = page.page.locator("#explain table.chain tr[data-step]").last.inner_text()
    assert "penalty" in last, last
    # Without one, the words stay as they were.
    plain = tab(FAST)
    explained(plain)
    walk_to(plain, n)  # one step fewer: no penalty row
    assert "penalty" not in plain.page.inner_text(".walk-text")
    assert page.errors == [] and plain.errors == []
