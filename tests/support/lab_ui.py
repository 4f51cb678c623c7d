"""What a person does in JupyterLab 4 with nbgrader's extensions, as Playwright steps.

Cells are found by their position, which is their index in the notebook file, so a test can look up
what each cell should be in the ``.ipynb`` it opened. JupyterLab keeps every cell in the page (its
default windowing mode only skips painting cells out of view), so a cell's text is read with
``textContent``.
"""

import re

CELLS = ".jp-Notebook .jp-Notebook-cell"

# One entry per cell in the page: its kind and state as the page shows them.
_CELL_STATE_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-Notebook-cell')].map(cell => {
  const editor = cell.querySelector('.cm-content');
  const rendered = cell.querySelector('.jp-RenderedMarkdown');
  const prompt = cell.querySelector('.jp-InputArea-prompt');
  return {
    type: cell.classList.contains('jp-CodeCell') ? 'code' : cell.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw',
    rendered: cell.classList.contains('jp-mod-rendered'),
    read_only: !!editor && editor.getAttribute('aria-readonly') === 'true',
    markdown: rendered ? rendered.textContent : null,
    code: editor ? [...editor.querySelectorAll('.cm-line')].map(line => line.textContent).join('\\n') : null,
    prompt: prompt ? prompt.textContent.trim() : null,
    output: [...cell.querySelectorAll('.jp-OutputArea-output')].map(out => out.textContent).join(''),
    errors: cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').length,
  };
})"""

# The failed cells listed in nbgrader's "Validation Results" dialog: pairs of (source, error).
_VALIDATION_JS = """(body) => {
  const blocks = [...body.children];
  const failed = [];
  blocks.forEach((block, i) => {
    if (block.textContent.trim() === 'The following cell failed:')
      failed.push({source: blocks[i + 1].innerText, error: blocks[i + 2].innerText});
  });
  return failed;
}"""


def open_notebook(page, lab, path: str, cell_count: int, timeout: float = 120_000) -> None:
    """Open ``path`` in JupyterLab, alone (``?reset`` drops the tabs that the server's saved layout
    would reopen), and wait until all its ``cell_count`` cells are in the page."""
    page.goto(lab.url(f"lab/tree/{path}?reset"))
    page.wait_for_function(f"document.querySelectorAll('{CELLS}').length === {cell_count}", timeout=timeout)
    panels = page.locator(".jp-NotebookPanel").count()
    if panels != 1:
        raise AssertionError(f"expected {path} alone in JupyterLab, found {panels} notebooks open")


def cell(page, index: int):
    """The cell at ``index`` (its position in the notebook)."""
    return page.locator(CELLS).nth(index)


def cell_states(page) -> list[dict]:
    """Every cell as the page shows it: type, rendered, read_only, markdown, code, prompt, output, errors."""
    return page.evaluate(_CELL_STATE_JS)


def select(page, index: int) -> None:
    """Select a rendered markdown cell by clicking on it (command mode, as a person does)."""
    target = cell(page, index)
    target.scroll_into_view_if_needed()
    target.click()
    page.keyboard.press("Escape")


def menu(page, top: str, item: str) -> None:
    """Choose ``item`` in the main menu ``top`` (File, Run, Nbgrader, ...)."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()


def wait_for_execution(page, indices: list[int], timeout: float) -> None:
    """Wait until the code cells ``indices`` show an execution count (``[3]:``, not ``[*]:``)."""
    page.wait_for_function(
        """([selector, indices]) => { const cells = document.querySelectorAll(selector);
             return indices.every(i => /^\\[\\d+\\]:$/.test(cells[i].querySelector('.jp-InputArea-prompt').textContent.trim())); }""",
        arg=[CELLS, indices],
        timeout=timeout,
    )


def validate(page, timeout: float) -> dict:
    """Press nbgrader's Validate button and read the "Validation Results" dialog (left open).

    Returns ``{"success": bool, "text": str, "failed": [{"source", "error"}, ...]}``.
    """
    button = page.locator(".validate-button")
    button.click()
    body = page.locator(".jp-Dialog #validation-message")
    body.wait_for(timeout=timeout)
    classes = (body.get_attribute("class") or "").split()
    if "validation-success" not in classes and "validation-failed" not in classes:
        raise AssertionError(f"Validate reported neither success nor failure:\n{body.inner_text()}")
    return {
        "success": "validation-success" in classes,
        "text": body.inner_text(),
        "failed": body.evaluate(_VALIDATION_JS),
    }


def close_dialog(page) -> None:
    """Press the dialog's OK button and wait until it is gone."""
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.locator(".jp-Dialog").wait_for(state="detached")
