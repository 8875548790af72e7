"""The report page, as a coach meets it: a real ``flexaqa serve``, a real headless Chromium (Debian's, driven
by Playwright), the bundled example uploaded through the form; and the offline file opened with no network.

Browser tests skip when ``/usr/bin/chromium`` or Playwright is missing (``.ci/run`` installs both).
Screenshots land in ``tests/artifacts/`` (gitignored); their paths are printed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import EXAMPLE

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DRAWN_PIXELS = """id => { const c = document.getElementById(id);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let ink = 0, red = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 0) ink++;
    if (d[i] > 150 && d[i + 1] < 80 && d[i + 3] > 200) red++;
  }
  return { ink, red }; }"""

needs_browser = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():  # a playwright Browser
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _example_json(server: str) -> dict:
    with EXAMPLE.open("rb") as handle:
        answer = httpx.post(f"{server}/assess", files={"bundle": ("set.npz", handle)}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


# ---------------------------------------------------------------------- content negotiation (no browser)


def test_json_clients_still_get_the_json_assessment(server: str) -> None:
    assert _example_json(server)["action"] == "A16"


def test_format_html_answers_the_report_page(server: str) -> None:
    with EXAMPLE.open("rb") as handle:
        answer = httpx.post(f"{server}/assess?format=html", files={"bundle": ("set.npz", handle)}, timeout=60)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert 'id="report-data"' in answer.text and "http://" not in answer.text.split("<script")[0]


def test_a_refused_upload_is_a_page_naming_the_field(server: str) -> None:
    answer = httpx.post(f"{server}/assess", files={"bundle": ("set.npz", b"not a bundle")},
                        headers={"Accept": "text/html"}, timeout=60)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "uploaded bundle" in answer.text and "<code>bundle</code>" in answer.text


# ---------------------------------------------------------------------- in the browser


@needs_browser
def test_upload_shows_score_cue_and_drawn_skeleton(server: str, browser) -> None:
    expected = _example_json(server)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/")
    for control in ("bundle", "action"):  # labelled controls
        assert page.get_by_label(page.locator(f"label[for={control}]").inner_text()).count() >= 1
    page.set_input_files("#bundle", str(EXAMPLE))
    page.select_option("#action", "A16")
    page.click("#submit")
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)
    assert page.inner_text("#score") == f"{expected['score']:.1f}"
    cues = page.locator("#cues > li")
    assert cues.count() == len(expected["coaching"]) >= 1
    assert expected["coaching"][0]["text"] in cues.first.inner_text()
    assert page.evaluate(DRAWN_PIXELS, "view-front")["ink"] > 500
    _screenshot(page, "report-desktop.png")
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(200)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _screenshot(page, "report-390px.png")
    page.close()


@needs_browser
def test_keyboard_seeks_to_a_fault_and_its_joints_turn_red(server: str, browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/report/example")
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)
    fault = page.locator("#timeline button.tl-err").first
    fault.focus()
    page.keyboard.press("Enter")
    assert page.inner_text("#active")
    assert page.evaluate(DRAWN_PIXELS, "view-front")["red"] > 0
    before = page.inner_text("#clock")
    page.focus("#scrub")
    page.keyboard.press("ArrowRight")
    assert page.inner_text("#clock") != before
    page.close()


@needs_browser
def test_offline_report_opens_with_the_network_blocked(browser, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    subprocess.run([sys.executable, "-m", "flexaqa", "assess", "--report", str(out)], check=True,
                   capture_output=True, cwd=ROOT)
    attempted: list[str] = []

    def block(route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", block)
    page = context.new_page()
    page.goto(out.as_uri())
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    english = page.inner_text("#cues > li >> nth=0")
    assert page.inner_text("#score")
    assert page.evaluate(DRAWN_PIXELS, "view-side")["ink"] > 500
    page.select_option("#lang", "zh")  # the language switch works offline: every language is in the file
    assert page.evaluate("document.documentElement.lang") == "zh"
    assert page.inner_text("#cues > li >> nth=0") != english
    assert attempted == []
    context.close()


@needs_browser
def test_the_pages_own_words_are_turtle_a_coach_can_edit(browser, ontology_copy: Path, tmp_path: Path
                                                         ) -> None:
    words = ontology_copy / "report_page.ttl"
    words.write_text(words.read_text().replace('"Score"@en', '"Form score"@en'))
    out = tmp_path / "report.html"
    subprocess.run([sys.executable, "-m", "flexaqa", "--ontology", str(ontology_copy), "assess", "--report",
                    str(out)], check=True, capture_output=True, cwd=ROOT)
    page = browser.new_page()
    page.goto(out.as_uri())
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    assert page.inner_text("#score-h") == "Form score"
    assert page.inner_text("[data-phase=Preparation]") == "Preparation"  # the phase's own rdfs:label
    assert "worst repetition" in page.inner_text("#interval")  # {placeholders} filled, none left
    assert "{" not in page.inner_text("#interval")
    assert page.inner_text("#lang option[value=zh]") == "中文"
    page.select_option("#lang", "zh")
    assert page.inner_text("#score-h") == "得分"
    assert page.inner_text("[data-phase=Preparation]") == "准备"
    page.close()


@needs_browser
def test_a_fault_the_model_saw_says_so_on_the_page(browser, kg, tmp_path: Path) -> None:
    from flexaqa.api.core import languages
    from flexaqa.api.report import build_input, render_page
    from flexaqa.engine.assess import assess_in_languages
    from flexaqa.engine.evidence import ModelFinding
    from flexaqa.synth.generate import synthetic_set

    clip = synthetic_set(kg, "A16", [[]], seed=10)
    blind = next(r for r in kg.rules_of("A16") if r.detector is None)
    seen = ModelFinding(repetition=1, rule=blind.id, probability=0.83, time_span=(1.0, 1.5), source="gnn-test")
    assessed = assess_in_languages(kg, clip, languages(kg), explain=True, model_findings=[seen])
    out = tmp_path / "report.html"
    out.write_text(render_page(build_input(kg, clip, assessed, "en")), encoding="utf-8")
    page = browser.new_page()
    page.goto(out.as_uri())
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    assert "seen by the learned model, probability 0.83" in page.inner_text("#reps")
    page.select_option("#lang", "zh")
    assert "由学习模型判断，概率 0.83" in page.inner_text("#reps")
    page.close()


# ---------------------------------------------------------------------- every text named, at a phone's width


def test_an_html_upload_with_an_unknown_language_is_a_page_naming_it(server: str) -> None:
    with EXAMPLE.open("rb") as handle:
        answer = httpx.post(f"{server}/assess?lang=xx", files={"bundle": ("set.npz", handle)},
                            headers={"Accept": "text/html"}, timeout=60)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "unknown language &#x27;xx&#x27;" in answer.text and "<code>query.lang</code>" in answer.text


@needs_browser
def test_points_lost_per_key_step_are_named_as_the_graph_names_them(server: str, browser, kg) -> None:
    expected = _example_json(server)
    labels = {row["keyStep"]: row["keyStepLabel"] for row in kg.run_named("action_graph", action="A16", lang="en")}
    steps = {k for r in expected["repetitions"] for k in r["points_lost_by_key_step"]}
    assert steps - {e["key_step"] for r in expected["repetitions"] for e in r["errors"]}  # a step losing points
    page = browser.new_page()                                                             # without a fault
    page.goto(f"{server}/report/example")
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)
    shown = page.locator("#by-step tbody th").all_inner_texts()
    assert sorted(shown) == sorted(labels[k] for k in steps)
    page.close()


@needs_browser
def test_the_chinese_page_names_the_side_in_chinese(server: str, browser) -> None:
    assert any(e["side"] == "left" for r in _example_json(server)["repetitions"] for e in r["errors"])
    page = browser.new_page()
    page.goto(f"{server}/report/example?lang=zh")
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)
    reps, emg = page.inner_text("#reps"), page.get_attribute("#emg", "aria-label")
    assert "，左；" in reps.replace(", ", "，").replace("; ", "；")
    for english in ("left", "right"):
        assert english not in reps and english not in emg
    page.close()


@needs_browser
def test_a_clip_without_semg_says_so_under_its_heading(server: str, browser, tmp_path: Path) -> None:
    with np.load(EXAMPLE) as bundle:
        np.savez(tmp_path / "skeleton.npz", **{k: bundle[k] for k in bundle.files if not k.startswith("emg_")})
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{server}/")
    page.set_input_files("#bundle", str(tmp_path / "skeleton.npz"))
    page.click("#submit")
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)
    assert page.is_visible("#emg-h") and page.is_hidden("#emg")
    assert page.inner_text("#no-emg") == "No sEMG in this clip."
    page.close()


@needs_browser
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_timeline_labels_are_whole_at_390_px(server: str, browser, kg, lang: str) -> None:
    labels = {row["keyStep"]: row["keyStepLabel"] for row in kg.run_named("action_graph", action="A16", lang=lang)}
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{server}/report/example?lang={lang}")
    page.wait_for_selector("body[data-ready=true]", timeout=60_000)
    faults = {e["label"] for r in _assessment(page)["repetitions"] for e in r["errors"]}
    texts = page.eval_on_selector_all(".tl-label, .tl-rep", """nodes => nodes.map(n => {
        const r = n.getBoundingClientRect();
        return { text: n.textContent, cut: n.scrollWidth > n.clientWidth || n.scrollHeight > n.clientHeight,
                 inside: r.left >= 0 && r.right <= window.innerWidth }; })""")
    assert not [t for t in texts if t["cut"] or not t["inside"]]
    shown = [t["text"] for t in texts]
    assert set(labels.values()) | faults <= set(shown)
    assert {"1", "2", "3", "4"} <= set(shown)  # each repetition's number in its bar
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _screenshot(page, f"report-390px-timeline-{lang}.png")
    page.close()


@needs_browser
def test_the_start_page_fits_a_390_px_phone(server: str, browser) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{server}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.close()


def _assessment(page) -> dict:
    """The assessment the page shows, read from the data it carries."""
    return page.evaluate("""() => { const d = JSON.parse(document.getElementById('report-data').textContent);
        return d.languages[d.lang].assessment; }""")
