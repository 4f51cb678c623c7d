"""End to end in a real browser: the student's JupyterLab and the instructor's formgrader.

Headless Chromium, driven by Playwright, uses JupyterLab servers that these tests start on
localhost: one in a scratch copy of the student release (kernels in quick mode, offline MNIST),
one in a scratch course that has one autograded submission. Screenshots of every step go to
``test-artifacts/browser/<test>/`` (or ``$A12_ARTIFACTS/browser/<test>/``).

Without Chromium or Playwright these tests are skipped with the reason (``A12_REQUIRE_BROWSER=1``,
set by CI, makes that a failure). Deselect them with ``pytest -m "not browser"``.
"""

import base64
import io
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import ASSIGNMENT, NOTEBOOK
from autograder.course import audit, coursedir

from .conftest import RELEASE, ROOT, SCREENSHOTS, SOLUTION, SOURCE
from .support import hostile_pages, lab_ui
from .support.browser import CHROMIUM_ARGS, VIEWPORT, Screenshots, artifacts_folder, require_browser
from .support.filled import filled_release, item_of, written_answer
from .support.jupyterlab import JupyterLab

pytestmark = pytest.mark.browser

# The filled-in copy answers every written question and these two code questions (cheap to run:
# no training or sampling), so that Validate has something to report besides the missing answers.
FILLED_CODE = {"closed_form_noisy_images", "generate_noisy_samples"}
FILLED_TESTS = {"test_12_2a_closed_form_noisy_images", "test_12_2c_generate_noisy_samples"}
STUDENT = "student_a"
STUB = "**Answer:**\n\nYOUR ANSWER HERE"
NO_RESPONSE = "You did not provide a response."
VALIDATE_TIMEOUT = 600_000  # ms; nbgrader runs the notebook in the server while the page waits


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def written_answers(nb) -> dict[int, dict]:
    """Position -> nbgrader metadata of the manually graded (written) answer cells."""
    return {
        i: nbgrader_meta(c)
        for i, c in enumerate(nb.cells)
        if nbgrader_meta(c).get("solution") and nbgrader_meta(c).get("grade")
    }


def grade_tests(nb) -> dict[str, nbformat.NotebookNode]:
    """grade_id -> cell of the auto-graded test cells."""
    return {
        nbgrader_meta(c)["grade_id"]: c
        for c in nb.cells
        if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")
    }


# --- browser, pages and screenshots ---------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (the system's), closed after the module's tests."""
    chromium = require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chrome = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield chrome
        finally:
            chrome.close()


@pytest.fixture(scope="session")
def artifacts(request):
    """The screenshot folder, emptied for this run; pytest's summary names it (tests/conftest.py)."""
    folder = artifacts_folder(ROOT) / "browser"
    shutil.rmtree(folder, ignore_errors=True)
    request.config.stash[SCREENSHOTS] = folder
    return folder


@pytest.fixture
def shots(request, artifacts) -> Screenshots:
    return Screenshots(artifacts / request.node.name)


@pytest.fixture
def page(browser, shots):
    """A fresh browser tab (own cookies); its last state is saved as a screenshot, pass or fail."""
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    try:
        yield tab
    finally:
        try:
            shots.take(tab, "end of test")
        finally:
            context.close()


# --- the student's JupyterLab ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def student_lab(tmp_path_factory, mnist_root):
    """JupyterLab in a scratch folder holding the release (``assignment12/``), a second blank copy
    (``blank/``) and the filled-in copy (``filled/``); kernels get quick mode and offline MNIST."""
    home = tmp_path_factory.mktemp("student")
    work = home / "work"
    shutil.copytree(RELEASE.parent, work / ASSIGNMENT)
    (work / "blank").mkdir()
    shutil.copy(RELEASE, work / "blank" / NOTEBOOK)
    (work / "filled").mkdir()
    nbformat.write(filled_release(RELEASE, SOLUTION, FILLED_CODE), work / "filled" / NOTEBOOK)
    env = dict(coursedir.nbgrader_env(), MNIST_ROOT=str(mnist_root), DDPM_QUICK="1")
    with JupyterLab(work, env, home / "jupyter") as lab:
        yield lab


def test_student_runs_the_setup_and_sees_questions_stubs_and_read_only_cells(page, student_lab, shots):
    """The release in JupyterLab: setup cells run in quick mode; every cell shown as nbgrader marked
    it; provided cells refuse typing and answer cells take it."""
    nb = nbformat.read(RELEASE, as_version=4)
    lab_ui.open_notebook(page, student_lab, f"{ASSIGNMENT}/{NOTEBOOK}", len(nb.cells))
    shots.take(page, "notebook opened")

    # Run the setup: every cell above the first question that asks for code ("Run All Above").
    first_answer = next(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("solution"))
    setup = [i for i, c in enumerate(nb.cells[:first_answer]) if c.cell_type == "code"]
    lab_ui.select(page, first_answer - 1)
    lab_ui.menu(page, "Run", "Run All Above Selected Cell")
    lab_ui.wait_for_execution(page, setup, timeout=300_000)
    quick_mode = next(i for i in setup if nbgrader_meta(nb.cells[i])["grade_id"] == "quick_mode")
    lab_ui.cell(page, quick_mode).locator(".jp-OutputArea-output").first.wait_for()
    states = lab_ui.cell_states(page)
    lab_ui.cell(page, quick_mode).scroll_into_view_if_needed()
    shots.take(page, "setup cells ran in quick mode")
    mode, device = states[quick_mode]["output"].strip().splitlines()
    assert mode == "quick mode: 128 training images, 1 epoch" and device.startswith(
        "device: cpu; a full run takes about"
    )
    failed_setup = {i: states[i]["output"][-500:] for i in setup if states[i]["errors"]}
    assert not failed_setup, f"setup cells wrote errors: {failed_setup}"

    # Every cell as nbgrader marked it: markdown rendered, locked cells read-only, answers editable.
    wrong = []
    for i, (c, state) in enumerate(zip(nb.cells, states)):
        meta = nbgrader_meta(c)
        if state["type"] != c.cell_type:
            wrong.append(f"cell {i} is shown as {state['type']}, not {c.cell_type}")
        if c.cell_type == "markdown" and not state["rendered"]:
            wrong.append(f"markdown cell {i} is not rendered")
        if meta.get("locked") and not state["read_only"]:
            wrong.append(f"cell {i} ({meta['grade_id']}) is locked but editable")
        if meta.get("solution") and state["read_only"]:
            wrong.append(f"answer cell {i} ({meta['grade_id']}) is read-only")
    assert not wrong, "\n".join(wrong)
    assert sum(s["read_only"] for s in states) == sum(bool(nbgrader_meta(c).get("locked")) for c in nb.cells)

    # The 23 written questions: each rendered question names its item and its points, and the
    # answer stub under it says what to do.
    written = written_answers(nb)
    assert len(written) == 23
    for i, meta in written.items():
        question, answer = states[i - 1]["markdown"], states[i]["markdown"]
        letter, points = item_of(meta["grade_id"])[-1], meta["points"]
        assert f"({letter})" in question and f"({points} point" in question, (meta["grade_id"], question)
        assert " ".join(answer.split()) == "Answer: YOUR ANSWER HERE", (meta["grade_id"], answer)
    # The 12 code answers show the stub; the 9 test cells show their points.
    code_answers = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and nbgrader_meta(c).get("solution")]
    assert len(code_answers) == 12
    for i in code_answers:
        assert "# YOUR CODE HERE" in states[i]["code"] and "raise NotImplementedError()" in states[i]["code"], i
    tests = [i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade") and c.cell_type == "code"]
    assert len(tests) == 9 and all(re.search(r"\(\d+ points?\)", states[i]["code"]) for i in tests)
    lab_ui.cell(page, next(iter(written)) - 1).scroll_into_view_if_needed()
    shots.take(page, "a question and its answer stub")

    # Typing into a provided cell changes nothing; typing into an answer cell does.
    provided = next(i for i in setup if nbgrader_meta(nb.cells[i])["grade_id"] == "detect_device")
    editor = lab_ui.cell(page, provided).locator(".cm-content")
    editor.scroll_into_view_if_needed()
    editor.click()
    page.keyboard.type("device = 'typed by the test'")
    assert lab_ui.cell_states(page)[provided]["code"] == nb.cells[provided].source
    shots.take(page, "typing into a provided cell changes nothing")
    page.keyboard.press("Escape")

    answer = next(iter(written))
    lab_ui.cell(page, answer).dblclick()
    lab_ui.cell(page, answer).locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.type("**Answer:** noise is added step by step; the model learns to undo it.")
    page.keyboard.press("Shift+Enter")
    lab_ui.cell(page, answer).locator(".jp-RenderedMarkdown", has_text="step by step").wait_for()
    shown = lab_ui.cell_states(page)[answer]
    assert (
        shown["rendered"]
        and shown["markdown"].strip() == "Answer: noise is added step by step; the model learns to undo it."
    )
    lab_ui.cell(page, answer).scroll_into_view_if_needed()
    shots.take(page, "an answer typed by the student")


def validation_summary(result: dict, nb) -> tuple[int, dict[str, str]]:
    """(number of written answers reported missing, {grade_id: error} of the failed test cells)."""
    by_source = {c.source.strip(): grade_id for grade_id, c in grade_tests(nb).items()}
    missing, failed_tests, unknown = 0, {}, []
    for entry in result["failed"]:
        source = entry["source"].strip()
        if source == STUB:
            assert entry["error"].strip() == NO_RESPONSE, entry
            missing += 1
        elif source in by_source:
            failed_tests[by_source[source]] = entry["error"]
        else:
            unknown.append(source[:200])
    assert not unknown, f"Validate reported cells that are no written answer or test cell: {unknown}"
    return missing, failed_tests


def test_student_validates_the_blank_release_and_a_filled_in_copy(page, student_lab, shots):
    """nbgrader's Validate button: the blank release reports all 23 written answers missing and the
    failing checks; the filled-in copy reports no missing answer, and the checks of its two
    filled-in code answers pass."""
    blank = nbformat.read(RELEASE, as_version=4)
    lab_ui.open_notebook(page, student_lab, f"blank/{NOTEBOOK}", len(blank.cells))
    shots.take(page, "blank release opened")
    result = lab_ui.validate(page, timeout=VALIDATE_TIMEOUT)
    shots.take(page, "validate on the blank release")
    lab_ui.close_dialog(page)
    assert not result["success"], result["text"][:2000]
    missing, failed_blank = validation_summary(result, blank)
    assert missing == 23, result["text"][:3000]
    assert FILLED_TESTS <= failed_blank.keys(), failed_blank.keys()
    for grade_id in FILLED_TESTS:  # their visible checks call the stub or miss its result
        assert re.search(r"NotImplementedError|NameError", failed_blank[grade_id]), failed_blank[grade_id]

    filled = nbformat.read(student_lab.root / "filled" / NOTEBOOK, as_version=4)
    lab_ui.open_notebook(page, student_lab, f"filled/{NOTEBOOK}", len(filled.cells))
    result = lab_ui.validate(page, timeout=VALIDATE_TIMEOUT)
    shots.take(page, "validate on the filled-in copy")
    lab_ui.close_dialog(page)
    missing, failed_filled = validation_summary(result, filled)
    assert missing == 0 and NO_RESPONSE not in result["text"], result["text"][:3000]
    # Exactly the checks of the two filled-in code answers pass now; the others still fail.
    assert failed_filled.keys() == failed_blank.keys() - FILLED_TESTS, (failed_blank.keys(), failed_filled.keys())
    assert not result["success"]


# The provided code up to training and sampling, then a training of 2 epochs of 16 batches and a
# sampling of 100 steps: long enough to catch the progress bars (they close when done: leave=False).
PROGRESS_CELLS = (
    "imports",
    "detect_device",
    "quick_mode",
    "load_mnist",
    "noise_schedule",
    "generate_noisy_samples",
    "helper_modules",
    "unet",
    "train_and_evaluate",
    "metrics_and_plotter",
    "sample_from_model",
)
# Quick mode's 128 training images, four times over in batches of 32: 16 batches, for a bar that lasts a while
PROGRESS_RUN = (
    "model = UNet().to(device)\n"
    "four_times = torch.utils.data.ConcatDataset([train_data] * 4)\n"
    "small_batches = {'train': torch.utils.data.DataLoader(four_times, batch_size=32), 'val': val_loader}\n"
    "train(model, small_batches, beta, num_epochs=2)",
    "x, x_hist = sample_from_model(torch.randn(10, 1, 32, 32), model, torch.linspace(1e-4, 0.02, 100))",
)


def wait_for_progress_bar(page, index: int, pattern: str, timeout_s: float = 600) -> str:
    """Wait until cell ``index`` shows a progress-bar widget whose text matches ``pattern`` (tqdm writes
    figure spaces: read as spaces); return that text."""
    cell = lab_ui.cell(page, index)
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = " ".join(cell.locator(".jp-OutputArea-output").all_inner_texts()).replace("\u2007", " ")
        if cell.locator(".widget-hprogress").count() and re.search(pattern, text, re.S):
            return text
        page.wait_for_timeout(100)
    raise AssertionError(f"no progress bar matching {pattern!r} in cell {index}; it shows: {text!r}")


def test_student_sees_progress_bars_of_training_and_sampling(page, student_lab, shots):
    """Training shows a bar per epoch over its batches, sampling one over its steps, each with the rate
    and the time left, as widgets in JupyterLab (quick mode, outside nbgrader)."""
    solution = nbformat.read(SOLUTION, as_version=4)
    by_id = {nbgrader_meta(c).get("grade_id"): c for c in solution.cells}
    cells = [nbformat.v4.new_code_cell(by_id[grade_id].source) for grade_id in PROGRESS_CELLS]
    cells += [nbformat.v4.new_code_cell(code) for code in PROGRESS_RUN]
    (student_lab.root / "progress").mkdir()
    nbformat.write(
        nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": solution.metadata.kernelspec}),
        student_lab.root / "progress" / NOTEBOOK,
    )
    lab_ui.open_notebook(page, student_lab, f"progress/{NOTEBOOK}", len(cells))
    page.get_by_text(re.compile(r"\(ipykernel\) \| Idle$")).wait_for(timeout=120_000)  # the kernel is ready
    lab_ui.menu(page, "Run", "Run All Cells")
    lab_ui.cell(page, len(cells) - 2).scroll_into_view_if_needed()
    # a bar with batches done, the time so far and the time left, and the rate
    wait_for_progress_bar(
        page, len(cells) - 2, r"epoch [12]/2:.*[1-9]\d*/16 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+(batch/s|s/batch)"
    )
    shots.take(page, "a progress bar of training")
    lab_ui.cell(page, len(cells) - 1).scroll_into_view_if_needed()
    wait_for_progress_bar(
        page, len(cells) - 1, r"sampling:.*[1-9]\d*/100 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+(step/s|s/step)"
    )
    shots.take(page, "a progress bar of sampling")


# --- the instructor's formgrader ------------------------------------------------------------------


def run_nbgrader(root, env, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"nbgrader {' '.join(args)}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory, mnist_root):
    """A scratch course with the assignment generated and the filled-in copy submitted by one
    student and autograded (nbgrader on the command line)."""
    root = tmp_path_factory.mktemp("instructor") / "course"
    root.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "source", root / "source", ignore=shutil.ignore_patterns("data", ".ipynb_checkpoints"))
    env = dict(coursedir.nbgrader_env(), MNIST_ROOT=str(mnist_root))
    run_nbgrader(root, env, "generate_assignment", ASSIGNMENT, "--force")
    submission = root / "submitted" / STUDENT / ASSIGNMENT
    submission.mkdir(parents=True)
    nbformat.write(
        filled_release(root / "release" / ASSIGNMENT / NOTEBOOK, SOLUTION, FILLED_CODE), submission / NOTEBOOK
    )
    run_nbgrader(root, env, "autograde", ASSIGNMENT, "--create")
    return root, env


@pytest.fixture(scope="module")
def instructor_lab(graded_course):
    """JupyterLab in the course directory, where the formgrader finds nbgrader_config.py."""
    root, env = graded_course
    exchange = root.parent / "exchange"
    exchange.mkdir()
    with JupyterLab(
        root, env, root.parent / "jupyter", nbgrader_config=f"c.Exchange.root = {str(exchange)!r}\n"
    ) as lab:
        yield lab


def table_rows(frame, link: str) -> list[dict[str, str]]:
    """The rows of the formgrader page's table, as {column header: cell text}, once a row links
    to ``link`` (the page fills the table after it loads)."""
    frame.locator("table tbody tr td a", has_text=re.compile(f"^{re.escape(link)}$")).first.wait_for()
    headers = [" ".join(h.split()) for h in frame.locator("table thead th").all_inner_texts()]
    rows = []
    for row in frame.locator("table tbody tr").all():
        rows.append(dict(zip(headers, (t.strip() for t in row.locator("td").all_inner_texts()))))
    return rows


def test_instructor_formgrader_lists_the_assignment_and_shows_manual_answers(
    page, instructor_lab, graded_course, shots
):
    """The formgrader, opened from JupyterLab's Nbgrader menu: the assignment with its submission,
    the autograder's scores, every written answer with its points, and a saved "Full credit"."""
    page.goto(instructor_lab.url("lab"))
    lab_ui.menu(page, "Nbgrader", "Formgrader")
    frame = page.frame_locator("iframe")

    frame.get_by_role("link", name=ASSIGNMENT, exact=True).wait_for()
    shots.take(page, "formgrader manage assignments")
    rows = table_rows(frame, ASSIGNMENT)
    assert [(r.get("Name"), r.get("# Submissions")) for r in rows] == [(ASSIGNMENT, "1")], rows

    # Manual Grading: the assignment, its notebook and the submission, with the autograder's 2 points.
    frame.get_by_role("link", name="Manual Grading").click()
    frame.get_by_text("Assignment ID").wait_for()
    rows = table_rows(frame, ASSIGNMENT)
    assert [(r.get("Assignment ID"), r.get("Score")) for r in rows] == [(ASSIGNMENT, "2 / 42")], rows
    frame.get_by_role("link", name=ASSIGNMENT, exact=True).click()
    frame.get_by_text("Avg. Written Score").wait_for()
    rows = table_rows(frame, ASSIGNMENT)
    assert [(r.get("Avg. Code Score"), r.get("Avg. Written Score")) for r in rows] == [("2 / 13", "0 / 29")], rows
    frame.get_by_role("link", name=ASSIGNMENT, exact=True).click()
    frame.get_by_text("Submission ID").wait_for()
    rows = table_rows(frame, "Submission #1")
    assert [(r.get("Submission ID"), r.get("Overall Score")) for r in rows] == [("Submission #1", "2 / 42")], rows
    shots.take(page, "formgrader submissions of the notebook")
    frame.get_by_role("link", name="Submission #1").click()

    # The submission: every written answer in its own panel, with the student's text and its points.
    source = nbformat.read(SOURCE, as_version=4)
    written = written_answers(source)
    frame.locator(f"input#{written[min(written)]['grade_id']}").wait_for()
    for meta in written.values():
        grade_id = meta["grade_id"]
        panel = frame.locator(".nbgrader_cell", has=frame.locator(f"input#{grade_id}"))
        heading, body = panel.locator(".panel-heading").inner_text(), panel.locator(".panel-body").inner_text()
        assert re.search(rf"/\s*{meta['points']}(\.0)?\b", heading), (grade_id, heading)
        assert " ".join(written_answer(grade_id).replace("**", "").split()) == " ".join(body.split()), (grade_id, body)
    assert frame.locator("input.score.needs_manual_grade").count() == len(written) == 23
    assert sum(meta["points"] for meta in written.values()) == 29
    first = frame.locator(".nbgrader_cell", has=frame.locator(f"input#{written[min(written)]['grade_id']}"))
    first.scroll_into_view_if_needed()
    shots.take(page, "a submission's written answer with its points")

    # Grading: "Full credit" on one answer is saved in the gradebook.
    meta = written[min(written)]
    first.get_by_role("button", name="Full credit").click()
    assert frame.locator(f"input#{meta['grade_id']}").input_value() == str(meta["points"])
    saved = None
    for _ in range(60):  # the page saves the score in the background
        saved = manual_score(graded_course[0], meta["grade_id"])
        if saved is not None:
            break
        page.wait_for_timeout(500)
    shots.take(page, "full credit given")
    assert saved == meta["points"]


def manual_score(root, grade_id: str) -> float | None:
    """The manual score of the student's answer ``grade_id`` in the course's gradebook."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return gb.find_grade(grade_id, NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT, STUDENT).manual_score


# --- student work is inert for graders (formgrader and feedback) ----------------------------------

HOSTILE = "student_h"


@pytest.fixture(scope="module")
def hostile_course(tmp_path_factory, mnist_root):
    """A scratch course with one autograded submission, ``hostile_pages.hostile_release`` (every attack,
    and a legitimate answer with math, a table, a code block and a figure), and its feedback."""
    root = tmp_path_factory.mktemp("hostile") / "course"
    root.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "source", root / "source", ignore=shutil.ignore_patterns("data", ".ipynb_checkpoints"))
    env = dict(coursedir.nbgrader_env(), MNIST_ROOT=str(mnist_root))
    run_nbgrader(root, env, "generate_assignment", ASSIGNMENT, "--force")
    submission = root / "submitted" / HOSTILE / ASSIGNMENT
    submission.mkdir(parents=True)
    nbformat.write(
        hostile_pages.hostile_release(root / "release" / ASSIGNMENT / NOTEBOOK, SOLUTION), submission / NOTEBOOK
    )
    run_nbgrader(root, env, "autograde", ASSIGNMENT, "--create")
    run_nbgrader(root, env, "generate_feedback", ASSIGNMENT)
    return root, env


def manual_grades(root) -> dict:
    """Every manual score, extra credit and manual comment in the course's gradebook."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {
            (g.name, field): getattr(g, field)
            for nb in gb.find_submission(ASSIGNMENT, HOSTILE).notebooks
            for g in [*nb.grades, *nb.comments]
            for field in ("manual_score", "extra_credit", "manual_comment")
            if hasattr(g, field)
        }


def submission_url(root) -> str:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT, HOSTILE)
        return f"formgrader/submissions/{notebook.id}/"


def legitimate_answer_renders(page, answer) -> None:
    """The legitimate answer's table, highlighted code and math, and the figure under it, as rendered."""
    assert answer.locator("table th").all_inner_texts() == ["step", "noise"]
    assert answer.locator(".highlight pre span.k", has_text="def").count() == 1
    assert re.search(r"\\sqrt|√", answer.inner_text())  # TeX, or MathJax's rendering where it loads
    figure = page.locator('.output_png img[src^="data:image/png"]').first
    assert figure.evaluate("e => e.naturalWidth") > 100


def scripts_that_ran(page) -> list[str]:
    """The attacks that ran (their marker), after clicking every link and button they planted."""
    for text in ("a link", "go"):
        for target in page.get_by_text(text, exact=True).all():
            if target.evaluate("e => e.tagName === 'A' || e.tagName === 'BUTTON'"):
                target.click(no_wait_after=True)
    page.wait_for_timeout(1500)  # onerror, onload, ontoggle and fetch have had their time
    return page.evaluate(f"window.top.{hostile_pages.MARKER} || []")


def test_graders_see_hostile_student_work_inert_in_formgrader_and_feedback(
    page, hostile_course, tmp_path_factory, shots
):
    """Every attack of ``hostile_pages``, opened by a grader in formgrader and in its feedback page:
    no script runs; the gradebook, the server's terminals, kernels and files stay as they were; the
    answers' text is there to read, and a script output is replaced by a line that says so."""
    root, env = hostile_course
    before = manual_grades(root)
    files_before = sorted(p.name for p in root.iterdir())
    with JupyterLab(root, env, tmp_path_factory.mktemp("hostile-jupyter")) as lab:
        page.goto(lab.url("formgrader"))  # logs the grader in (a session cookie), as the Formgrader tab does
        response = page.goto(f"{lab.base}/{submission_url(root)}")
        assert "default-src 'none'" in response.headers["content-security-policy"]  # formgrader_csp
        page.locator("input.score").first.wait_for()
        shots.take(page, "hostile submission in formgrader")
        assert sorted(set(scripts_that_ran(page))) == []
        answers = {
            name: page.locator(".nbgrader_cell", has_text=f"{name}.").first.inner_text()
            for name in hostile_pages.MARKDOWN_ATTACKS  # every answer is there to read, tags and all
        }
        assert "<script>(top.A12_RAN" in answers["md-script"] and "end." in answers["md-script"]
        assert "An image:" in answers["md-img-onerror"] and "A12_RAN" not in answers["md-img-onerror"]
        assert page.locator("p.a12-removed", has_text="A script output was removed here").count() == 1
        assert page.locator('img[alt="SVG figure"]').evaluate("e => e.naturalWidth") == 40
        for api in ("api/terminals", "api/kernels"):
            assert json.loads(urllib.request.urlopen(lab.url(api), timeout=10).read()) == [], api

        # formgrader still grades: full credit on one answer is saved (recorded as formgrader's)
        panel = page.locator(".nbgrader_cell", has=page.locator("input.score")).first
        panel.get_by_role("button", name="Full credit").click()
        for _ in range(60):
            graded = {k: v for k, v in manual_grades(root).items() if v != before[k]}
            if graded:
                break
            page.wait_for_timeout(500)
        assert len(graded) == 1, graded
        recorded = audit.changes(f"sqlite:///{root / 'gradebook.db'}")
        assert [(c.path, c.student, c.field) for c in recorded] == [("formgrader", HOSTILE, "manual_score")]
        assert audit.suspicious(recorded) == []

        # the legitimate answer renders: math, a table, highlighted code, the plotted figure
        answer = page.locator(".nbgrader_cell", has_text="the noise follows").first
        answer.scroll_into_view_if_needed()
        shots.take(page, "legitimate answer in formgrader")
        legitimate_answer_renders(page, answer)
    assert manual_grades(root) == {**before, **graded}
    assert sorted(p.name for p in root.iterdir()) == files_before

    # the feedback pages, opened from disk
    page.goto((root / "feedback" / HOSTILE / ASSIGNMENT / "assignment12.html").as_uri())
    shots.take(page, "hostile submission's feedback")
    assert scripts_that_ran(page) == []
    assert page.locator("p.a12-removed", has_text="A script output was removed here").count() == 1
    legitimate_answer_renders(page, page.locator(".cell", has_text="the noise follows").first)

    # a score written to the database directly is listed by a12 audit
    with sqlite3.connect(root / "gradebook.db") as db:
        db.execute("UPDATE grade SET manual_score = 1 WHERE manual_score IS NULL AND auto_score IS NULL")
    outside = audit.suspicious(audit.changes(f"sqlite:///{root / 'gradebook.db'}"))
    assert outside and {c.path for c in outside} == {"other"}


def test_a_legitimate_answer_looks_the_same_with_the_sanitizer(page, tmp_path):
    """The legitimate answer (math, a table, highlighted code) and a plotted figure, rendered by nbconvert's
    HTML exporter as nbgrader does, with the course's inert rendering and without it: the two screenshots
    are the same, pixel for pixel."""
    from matplotlib.figure import Figure
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    from autograder.course.plugins import configure

    plot = Figure(figsize=(2, 2))  # what FIGURE_CELL draws, without pyplot's state
    plot.add_subplot().plot([0, 1, 2], [0, 1, 4])
    buffer = io.BytesIO()
    plot.savefig(buffer, format="png")
    figure = base64.b64encode(buffer.getvalue()).decode()
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(hostile_pages.LEGITIMATE_ANSWER),
            nbformat.v4.new_code_cell(
                hostile_pages.FIGURE_CELL,
                outputs=[nbformat.v4.new_output("display_data", {"image/png": figure, "text/plain": "<Figure>"})],
            ),
        ]
    )
    inert = Config()
    configure(inert)
    shots, pages = {}, {}
    for name, config in (("plain", Config()), ("inert", inert)):
        pages[name], _ = HTMLExporter(config=config).from_notebook_node(nb)
        (tmp_path / f"{name}.html").write_text(pages[name])
        page.goto((tmp_path / f"{name}.html").as_uri())
        shots[name] = page.screenshot(path=tmp_path / f"{name}.png", full_page=True)
    assert all(part in pages["plain"] for part in ("<table>", 'class="highlight', "data:image/png;base64,"))
    assert shots["inert"] == shots["plain"], f"the renderings differ: compare plain.png and inert.png in {tmp_path}"
