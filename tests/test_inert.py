"""Student work rendered inert (``autograder.course.inert``), without a browser: the HTML that
formgrader's exporter writes with the course's configuration. tests/test_browser.py opens it for real."""

import re

import nbformat
import pytest
from nbconvert.exporters import HTMLExporter
from nbgrader.server_extensions.formgrader import handlers
from traitlets.config import Config

from autograder.course.formgrader_csp import INLINE_SCRIPT, _sha, policy
from autograder.course.inert import SCRIPT_REMOVED, InertStudentWork, inert_output_data, render_markdown
from autograder.course.plugins import configure

from .conftest import RELEASE, SOLUTION
from .support.hostile_pages import LEGITIMATE_ANSWER, MARKDOWN_ATTACKS, attack, hostile_release

HANDLER = re.compile(r"<[^>]*\son\w+\s*=", re.I)  # an element with an event-handler attribute


def test_markdown_keeps_what_graders_need_and_escapes_the_rest():
    shown = render_markdown(LEGITIMATE_ANSWER)
    assert "<table>" in shown and "<th>step</th>" in shown
    assert '<span class="k">def</span>' in shown and '<div class="highlight">' in shown
    assert r"$x_t = \sqrt{\bar\alpha_t}" in shown  # math stays text, for MathJax
    image = render_markdown("![digit](attachment:a.png)", {"a.png": {"image/png": "iVBORw0KGgo="}})
    assert '<img src="data:image/png;base64,iVBORw0KGgo=" alt="digit">' in image
    for name, payload in MARKDOWN_ATTACKS.items():
        shown = render_markdown(payload(attack(name)))
        assert not HANDLER.search(shown) and 'href="javascript' not in shown and "<form" not in shown, shown
        assert "<script" not in shown and "<svg" not in shown and "<iframe" not in shown, shown
        assert "end." in shown, shown  # the answer is never dropped
    assert "&lt;script&gt;" in render_markdown("<script>alert(1)</script>")
    assert render_markdown("[x](data:text/html,hi) [y](https://example.org)") == (
        '<p><a>x</a> <a href="https://example.org">y</a></p>\n'
    )
    assert render_markdown("<img src=https://example.org/beacon.png>") == "<img>\n\n"


def test_outputs_become_inert_html():
    assert inert_output_data({"application/javascript": "alert(1)"}) == {"text/html": SCRIPT_REMOVED}
    svg = inert_output_data({"image/svg+xml": "<svg onload='x'/>", "text/plain": "<SVG>"})
    assert svg["text/html"].startswith('<img src="data:image/svg+xml;base64,') and svg["text/plain"] == "<SVG>"
    assert inert_output_data({"text/html": "<b onclick='x'>b</b>"}) == {"text/html": "<b>b</b>"}
    assert inert_output_data({"text/markdown": "**m**"}) == {"text/html": "<p><strong>m</strong></p>\n"}
    broken = inert_output_data({"image/png": 'iVBO" onerror="x'})  # not base64: said, never written into src
    assert list(broken) == ["text/html"] and "image/png was removed here" in broken["text/html"]
    assert inert_output_data({"text/latex": "$<b>$"}) == {"text/html": "<div>$&lt;b&gt;$</div>"}
    widget = inert_output_data({"application/vnd.jupyter.widget-view+json": {"model_id": "x"}})
    assert "application/vnd.jupyter.widget-view+json was removed here" in widget["text/html"]


def test_metadata_and_names_written_outside_outputs_are_harmless():
    nb = nbformat.v4.new_notebook(
        metadata={"widgets": {"x": "</script><script>x()</script>"}, "title": "<script>"},
        cells=[
            nbformat.v4.new_markdown_cell(
                "a",
                metadata={"nbgrader": {"grade_id": 'x" onmouseover="y', "grade": True}, "tags": ['"><b'], "k": '"><b'},
            ),
            nbformat.v4.new_markdown_cell(
                "b", metadata={"nbgrader": {"grade_id": "answer_1", "points": 2}, "k": "a_1"}
            ),
        ],
    )
    resources = {"student": "<img src=x onerror=y>", "notebook_id": "assignment12"}
    nb, resources = InertStudentWork(kept_cell_metadata=["k"]).preprocess(nb, resources)
    assert dict(nb.metadata) == {}
    assert nb.cells[0].metadata == {}
    assert nb.cells[1].metadata == {"nbgrader": {"grade_id": "answer_1", "points": 2}, "k": "a_1"}
    assert resources == {"student": "&lt;img src=x onerror=y&gt;", "notebook_id": "assignment12"}


@pytest.fixture(scope="module")
def formgrader_html():
    """The hostile submission as formgrader's exporter renders it with the course's configuration."""
    config = Config()
    configure(config)
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    nb = hostile_release(RELEASE, SOLUTION)
    figure = next(c for c in nb.cells if c.cell_type == "code" and "display(Javascript(" in c.source)
    figure.outputs = [
        nbformat.v4.new_output("display_data", data={"application/javascript": attack("out-javascript")}),
        nbformat.v4.new_output("display_data", data={"text/html": f'<img src=x onerror="{attack("out-html")}">'}),
    ]
    resources = dict(
        base_url="", submission_id="s", notebook_id="assignment12", assignment_id="assignment12", index=0, total=1
    )
    resources.update(student="student", notebook_path="p")
    html, _ = HTMLExporter(config=config).from_notebook_node(nb, resources=resources)
    return html


def test_formgrader_page_runs_only_its_own_scripts(formgrader_html):
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", formgrader_html, re.S)
    assert not [s for s in scripts if "A12_RAN" in s]
    assert not HANDLER.search(formgrader_html.split('id="notebook-container"')[1])
    assert formgrader_html.count(SCRIPT_REMOVED) == 1


def test_the_policy_allows_the_templates_own_inline_code_only(formgrader_html):
    page = formgrader_html.replace('id="notebook-container">', 'id="notebook-container"><script>evil()</script>', 1)
    csp = policy(page)
    head = page.split('id="notebook-container"')[0]
    own = [body for attributes, body in INLINE_SCRIPT.findall(head) if "src=" not in attributes]
    assert own and all(_sha(body) in csp for body in own)
    assert _sha("evil()") not in csp and _sha("toggle_name(true);") in csp
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp and "frame-src 'none'" in csp
