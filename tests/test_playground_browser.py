"""The playground in a real browser: Playwright drives Debian's headless Chromium.

One ``chainrule playground`` process and one browser for the module; each test
opens its own page (its own session on the server). ``.ci/run`` installs
Chromium where it is missing. Set CHAINRULE_SCREENSHOT=docs/playground.png to
write the README's screenshot.
"""

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from chainrule import Model

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("uvicorn")

pytestmark = pytest.mark.browser

# Several frames per epoch count would make the tests slow; several epochs per frame, quick.
FAST = "epochs_per_frame=10"


@pytest.fixture(scope="module")
def server():
    process = subprocess.Popen(
        [sys.executable, "-m", "chainrule", "playground", "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
    try:
        assert match, f"no URL printed: {line!r}"
        yield match.group(1)
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=10)
    assert "Traceback" not in errors, errors



class Tab:
    """One page on the playground, with everything it logged and every address it asked."""

    def __init__(self, browser, server, hash_=""):
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000},
                                     accept_downloads=True)
        self.errors, self.addresses = [], []
        self.page.on("console", lambda m: m.type in ("error", "warning")
                     and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.addresses.append(r.url))
        self.page.on("websocket", lambda w: self.addresses.append(w.url))
        self.page.goto(f"{server}/#{hash_}")
        self.page.wait_for_selector(".node.output")
        self.page.wait_for_function("() => document.body.dataset.epoch !== undefined")

    def epoch(self) -> int:
        return int(self.page.evaluate("() => document.body.dataset.epoch"))

    def number(self, selector: str) -> float:
        return float(self.page.inner_text(selector))

    def play_until(self, condition: str, timeout: float = 60_000) -> None:
        self.page.click("#play")
        self.page.wait_for_function(condition, timeout=timeout)
        self.pause()

    def pause(self) -> None:
        self.page.click("#play")
        self.page.wait_for_function("() => !document.body.classList.contains('playing')")
        epoch = self.epoch()
        # Frames already on their way may still land; wait until the epoch stops moving.
        self.page.wait_for_timeout(300)
        while self.epoch() != epoch:
            epoch = self.epoch()
            self.page.wait_for_timeout(300)

    def boundary(self) -> str:
        return self.page.evaluate("() => document.getElementById('boundary').toDataURL()")

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def tab(browser, server):
    tabs = []

    def open_tab(hash_=""):
        tabs.append(Tab(browser, server, hash_))
        return tabs[-1]

    yield open_tab
    for opened in tabs:
        opened.close()


def test_the_page_loads_with_no_errors_and_asks_nothing_from_outside(tab, server):
    page = tab()
    nodes = page.page.locator(".node")
    assert page.page.locator(".node.feature").count() == 7
    assert page.page.locator(".node.neuron").count() == 24
    assert page.page.locator(".node.output").count() == 3
    assert page.page.locator("path.link").count() == 2 * 8 + 8 * 8 * 2 + 8 * 3
    assert nodes.count() == 34
    assert page.page.locator(".bias").count() == 27
    assert page.page.input_value("#dataset") == "spiral"
    assert "layers=8,8,8" in page.page.url
    local = re.compile(r"^(http|ws)://127\.0\.0\.1:" + server.rsplit(":", 1)[1] + "/")
    assert page.addresses and all(local.match(url) for url in page.addresses), page.addresses
    assert page.errors == []


def test_play_on_the_spiral_learns_and_redraws_the_boundary(tab):
    page = tab(FAST)
    before = page.boundary()
    first_loss = page.number("#test-loss")
    page.play_until("() => Number(document.getElementById('test-loss').textContent) < 0.5"
                    " || Number(document.body.dataset.epoch) >= 400")
    assert page.number("#test-loss") < 0.5, page.epoch()
    assert page.epoch() <= 400
    assert first_loss > 1.0
    assert page.boundary() != before
    assert page.number("#test-figure") > 0.8
    assert page.errors == []


def test_clicking_a_weight_a_bias_and_a_neuron_explains_them(tab):
    page = tab(FAST)
    page.play_until("() => Number(document.body.dataset.epoch) >= 50")
    # A weight of the output layer: W6[2, 1], from neuron 2 of the last hidden layer.
    page.page.locator('.link-hit[data-dense="3"][data-i="2"][data-j="1"]').dispatch_event("click")
    panel = page.page.locator("#explain-body")
    panel.locator(".relative-error").wait_for()
    assert "∂L/∂W6[2, 1]" in panel.locator("h3").inner_text()
    error = float(panel.locator(".relative-error").get_attribute("data-value"))
    assert error < 1e-4
    assert panel.locator("table.chain tr").count() >= 4
    assert "softmax + cross-entropy" in panel.inner_text()
    # A bias of the first layer: its chain runs through every layer above it.
    page.page.locator('.bias[data-dense="0"][data-j="5"]').dispatch_event("click")
    page.page.wait_for_function(
        "() => document.querySelector('#explain-body h3').textContent.includes('b0[5]')")
    assert float(panel.locator(".relative-error").get_attribute("data-value")) < 1e-4
    assert "ReLU" in panel.inner_text()
    # A neuron: its incoming weights and ∂L/∂z.
    page.page.locator('.node.neuron[data-column="2"][data-index="3"]').click()
    page.page.wait_for_function(
        "() => document.querySelector('#explain-body h3').textContent.includes('z2[3]')")
    assert panel.locator("table.incoming tr").count() == 1 + 8 + 1
    assert "∂L/∂z2[3] summed over the 420 points" in panel.inner_text()
    assert page.errors == []


def test_changing_controls_mid_training_takes_effect(tab):
    page = tab(FAST)
    page.page.click("#play")
    page.page.wait_for_function("() => Number(document.body.dataset.epoch) >= 30")
    page.page.fill("#learning_rate", "0.02")
    page.page.dispatch_event("#learning_rate", "change")
    epoch = page.epoch()
    # The server's optimizer uses it from the next frame on, without a reset.
    page.page.wait_for_function("() => document.body.dataset.lr === '0.02'")
    assert page.epoch() >= epoch
    assert "learning_rate=0.02" in page.page.url
    # One neuron fewer in the first hidden layer: a new network, and training goes on.
    page.page.locator(".neuron-count").first.locator("button", has_text="−").click()
    page.page.wait_for_function(
        "() => document.querySelectorAll('.node.neuron[data-column=\"1\"]').length === 7")
    page.page.wait_for_function("() => Number(document.body.dataset.epoch) >= 20")
    assert "layers=7,8,8" in page.page.url
    page.pause()
    # A feature clicked on: one more input, the hash says so.
    page.page.locator('.node.feature[data-index="sinx1"]').click()
    page.page.wait_for_function(
        "() => !document.querySelector('.node.feature[data-index=\"sinx1\"]')"
        ".classList.contains('inactive')")
    assert "features=x1,x2,sinx1" in page.page.url
    assert page.errors == []


def test_show_code_and_download_reproduce_the_network(tab, tmp_path):
    page = tab(f"dataset=xor&samples=100&layers=4,4&activation=tanh&{FAST}&noise=0.05"
               "&regularization=l2&regularization_rate=0.001")
    page.play_until("() => Number(document.body.dataset.epoch) >= 40")
    epoch = page.epoch()
    test_loss = page.number("#test-loss")
    page.page.click("#show-code")
    page.page.locator("#code-dialog").wait_for(state="visible")
    code = page.page.inner_text("#code-text")
    assert f"epochs={epoch}," in code and "xor_data(100, noise=0.05" in code
    page.page.click("#close-code")
    with page.page.expect_download() as download:
        page.page.click("#download")
    assert download.value.suggested_filename == f"playground-xor-epoch{epoch}.chainrule"
    download.value.save_as(tmp_path / "page.chainrule")
    (tmp_path / "script.py").write_text(code, encoding="utf-8")
    result = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, capture_output=True,
                            text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    printed = float(result.stdout.split("test loss: ")[1].split()[0])
    assert printed == pytest.approx(test_loss, rel=1e-3, abs=1e-4)  # the page shows 4 digits
    from_page = Model.load(tmp_path / "page.chainrule")
    from_script = Model.load(tmp_path / "playground.chainrule")
    assert from_page.epoch == from_script.epoch == epoch
    for ours, theirs in zip(from_page.get_parameters(), from_script.get_parameters(),
                            strict=True):
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_bad_values_and_divergence_are_shown_on_the_page(tab):
    page = tab()
    page.page.fill("#learning_rate", "-1")
    page.page.dispatch_event("#learning_rate", "change")
    message = page.page.locator("#message")
    message.wait_for(state="visible")
    assert "learning_rate must be a finite number in (0.0, 10.0]" in message.inner_text()
    assert page.page.input_value("#learning_rate") in ("-1", "0.005")
    page.page.click("#message-close")
    # A shared link with a setting the page does not know: said so, the rest applied.
    shared = tab("layers=4&wings=2")
    shared.page.locator("#message").wait_for(state="visible")
    assert "unknown setting(s) wings" in shared.page.inner_text("#message")
    shared.page.wait_for_function("() => document.querySelectorAll('.node.neuron').length === 4")
    diverging = tab("dataset=sine&features=x1,x1sq&activation=linear&optimizer=sgd"
                    "&learning_rate=10&layers=8,8&batch_size=1&epochs_per_frame=20")
    diverging.page.click("#play")
    diverging.page.locator("#message.diverged").wait_for(state="visible", timeout=30_000)
    assert "training diverged" in diverging.page.inner_text("#message")
    diverging.page.wait_for_function("() => !document.body.classList.contains('playing')")
    assert diverging.page.inner_text("#play") == "▶ play"
    assert diverging.page.locator(".node.neuron").count() == 16  # still drawn
    assert page.errors == [] and diverging.errors == [] and shared.errors == []


def test_the_server_survives_junk_from_a_browser_socket(tab):
    page = tab()
    replies = page.page.evaluate("""async () => {
      const socket = new WebSocket(`ws://${location.host}/ws`);
      const replies = [];
      socket.onmessage = (event) => replies.push(JSON.parse(event.data).type);
      await new Promise((resolve) => { socket.onopen = resolve; });
      const junk = ["{", "[]", '{"type":"settings","settings":{"layers":[1000000]}}',
        '{"type":"settings","settings":{"batch_size":1e15}}', '{"type":"play","x":1}',
        '{"type":"settings","settings":{"learning_rate":null}}', "x".repeat(30000),
        '{"type":"explain","layer":0,"param":"weights","index":[-5,0]}'];
      for (const text of junk) socket.send(text);
      socket.send(new Uint8Array([0, 1, 2]));
      socket.send(JSON.stringify({ type: "code" }));
      await new Promise((resolve) => {
        const check = () => (replies.includes("code") ? resolve() : setTimeout(check, 50));
        check();
      });
      socket.close();
      return replies;
    }""")
    assert replies.count("error") == 9
    # This tab's own session was never touched, and still trains.
    page.page.click("#step")
    page.page.wait_for_function("() => Number(document.body.dataset.epoch) === 1")
    assert page.errors == []


def test_screenshot_for_the_readme(tab, tmp_path):
    page = tab(FAST + "&show_test=1")
    page.play_until("() => Number(document.body.dataset.epoch) >= 300")
    page.page.locator('.link-hit[data-dense="1"][data-i="4"][data-j="6"]').dispatch_event("click")
    page.page.locator("#explain-body .relative-error").wait_for()
    page.page.locator('.node.neuron[data-column="3"][data-index="2"]').hover()
    page.page.wait_for_timeout(200)
    path = tmp_path / "playground.png"
    page.page.screenshot(path=str(path), full_page=True)
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert width == 1400 and height >= 900
    if os.environ.get("CHAINRULE_SCREENSHOT"):
        shutil.copyfile(path, os.environ["CHAINRULE_SCREENSHOT"])
