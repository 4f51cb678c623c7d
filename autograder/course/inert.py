"""Student work rendered as inert HTML wherever a person opens it: formgrader and the feedback.

nbgrader (0.9.6) renders a submission with nbconvert's ``HTMLExporter`` twice: in formgrader, on the
Jupyter server's own origin with the grader's session, and in ``nbgrader generate_feedback``. Both
read the course's ``nbgrader_config.py``, where ``configure(c)`` puts the two pieces below into that
exporter, so that plain ``nbgrader formgrader``, ``jupyter lab`` and ``a12 feedback`` all get them:

- the ``markdown2html`` filter (Markdown answers, Markdown outputs, graders' comments): nbconvert's own
  Markdown rendering, then ``clean``;
- the ``InertStudentWork`` preprocessor: every rich output becomes inert HTML (HTML and Markdown
  outputs cleaned, SVG shown as an image, script outputs replaced by a visible line), and every value
  a template writes outside the outputs (cell and notebook metadata, names) is made harmless.

``clean`` is an allow-list (bleach): formatted text, tables, code highlighting, images from ``data:``
URLs of PNG, JPEG, GIF or SVG. Anything else is escaped, never dropped: the grader reads the text the
student wrote, tags and all. Math stays text, for MathJax to typeset.
"""

import base64
import html
import re

import bleach
from jinja2 import pass_context
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor
from pygments.token import STANDARD_TYPES
from traitlets import List, Unicode

TAGS = frozenset(
    "a abbr b blockquote br caption code dd del div dl dt em h1 h2 h3 h4 h5 h6 hr i img kbd li ol p pre q s "
    "samp small span strong sub sup table tbody td tfoot th thead tr u ul var".split()
)
# Code highlighting: pygments' token classes, on the elements that hold code only.
CODE_CLASSES = frozenset(STANDARD_TYPES.values()) - {""} | {"highlight"}
CODE_ELEMENTS = frozenset({"div", "pre", "code", "span"})
IMAGE_URL = re.compile(r"data:image/(png|jpeg|gif|svg\+xml);base64,[A-Za-z0-9+/=\s]*", re.I)
LINK_URL = re.compile(r"(https?:|mailto:|#)", re.I)
SIZE = re.compile(r"\d{1,5}(px|%)?")
SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,200}")
BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")

REMOVED = '<p class="a12-removed"><strong>{what} removed here</strong>: {why}</p>'
SCRIPT_REMOVED = REMOVED.format(
    what="A script output was", why="student work is shown without running any of its code."
)


def _attribute(tag: str, name: str, value: str) -> bool:
    """Whether an attribute may stay (bleach calls this for every attribute of an allowed tag)."""
    if name == "class":
        return tag in CODE_ELEMENTS and all(c in CODE_CLASSES or c.startswith("hl-") for c in value.split())
    if tag == "img":
        if name == "src":
            return IMAGE_URL.fullmatch(value.strip()) is not None
        return name == "alt" or (name in ("width", "height") and SIZE.fullmatch(value) is not None)
    if tag == "a":
        return name == "title" or (name == "href" and LINK_URL.match(value.strip()) is not None)
    if tag in ("td", "th"):
        return name in ("colspan", "rowspan") and value.isdigit()
    return name == "title" and tag in ("abbr", "span")


def clean(markup: str) -> str:
    """HTML reduced to the allow-list; tags outside it are escaped (shown as text), comments dropped."""
    return bleach.clean(
        markup,
        tags=TAGS,
        attributes=_attribute,
        protocols={"http", "https", "mailto", "data"},
        strip=False,
        strip_comments=True,
    )


def render_markdown(source: str, attachments: dict | None = None) -> str:
    """Markdown (with math and the cell's attachments) as nbconvert renders it, then ``clean``."""
    renderer = IPythonRenderer(escape=False, attachments=attachments or {}, exclude_anchor_links=True)
    return clean(MarkdownWithMath(renderer=renderer).render(source))


@pass_context
def markdown2html(context, source: str) -> str:
    """The ``markdown2html`` filter of the course's HTML exporter (``c.HTMLExporter.filters``)."""
    cell = context.get("cell") or {}
    return render_markdown(source, cell.get("attachments") if hasattr(cell, "get") else None)


def _image(data) -> str | None:
    """Base64 image data as it may go into a ``src`` attribute, or None if it is not base64."""
    text = data if isinstance(data, str) else "".join(data) if isinstance(data, list) else None
    return text if text is not None and BASE64.fullmatch(text) else None


def inert_output_data(data: dict) -> dict:
    """An output's mime bundle as inert data: text, PNG and JPEG kept, the rest as cleaned HTML."""
    text = {k: "".join(v) if isinstance(v, list) else v for k, v in data.items() if isinstance(v, (str, list))}
    kept, shown = {}, []
    if isinstance(text.get("text/plain"), str):
        kept["text/plain"] = text["text/plain"]
    for mime in ("image/png", "image/jpeg"):
        image = _image(data.get(mime))
        if image is not None:
            kept[mime] = image
    if "application/javascript" in data:
        shown.append(SCRIPT_REMOVED)
    if isinstance(text.get("text/html"), str):
        shown.append(clean(text["text/html"]))
    elif isinstance(text.get("text/markdown"), str):
        shown.append(render_markdown(text["text/markdown"]))
    elif isinstance(text.get("image/svg+xml"), str):
        svg = base64.b64encode(text["image/svg+xml"].encode()).decode()
        shown.append(f'<img src="data:image/svg+xml;base64,{svg}" alt="SVG figure">')
    elif isinstance(text.get("text/latex"), str) and not any(m in kept for m in ("image/png", "image/jpeg")):
        shown.append(f"<div>{html.escape(text['text/latex'])}</div>")
    dropped = sorted(set(data) - set(kept) - {"text/html", "text/markdown", "image/svg+xml", "text/latex"})
    dropped = [m for m in dropped if m != "application/javascript"]
    if dropped and not kept and not shown:
        what = ", ".join(html.escape(m) for m in dropped)
        shown.append(REMOVED.format(what=f"An output of type {what} was", why="it is not shown to graders."))
    if shown:
        kept["text/html"] = "\n".join(shown)
    return kept


def _safe_nbgrader(meta) -> dict | None:
    """A cell's nbgrader metadata if every value a template writes is harmless, else None."""
    if not isinstance(meta, dict):
        return None
    grade_id = meta.get("grade_id")
    if grade_id is not None and not (isinstance(grade_id, str) and SAFE_NAME.fullmatch(grade_id)):
        return None
    safe = {}
    for key, value in meta.items():
        if isinstance(value, (bool, int, float)) or value is None or key == "grade_id":
            safe[key] = value
        elif isinstance(value, str):
            safe[key] = html.escape(value)
    return safe


class InertStudentWork(Preprocessor):
    """Makes a notebook safe to render as HTML for a person (see the module's docstring)."""

    kept_cell_metadata = List(
        Unicode(), help="cell metadata keys kept when their value is a plain name (no template writes them)"
    ).tag(config=True)

    def preprocess(self, nb, resources):
        metadata = {}
        for key, required in (("kernelspec", {"name", "display_name"}), ("language_info", {"name"})):
            value = nb.metadata.get(key)
            if isinstance(value, dict):
                strings = {k: html.escape(v) for k, v in value.items() if isinstance(v, str)}
                if required <= strings.keys():
                    metadata[key] = strings
        nb.metadata = type(nb.metadata)(metadata)
        for name in ("student", "first_name", "last_name", "notebook_id", "assignment_id", "notebook_path"):
            if isinstance(resources.get(name), str):
                resources[name] = html.escape(resources[name])
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        nbgrader = _safe_nbgrader(cell.metadata.get("nbgrader"))
        kept = {
            key: value
            for key in self.kept_cell_metadata
            if isinstance(value := cell.metadata.get(key), str) and SAFE_NAME.fullmatch(value)
        }
        if nbgrader is not None:
            kept["nbgrader"] = nbgrader
        cell.metadata = type(cell.metadata)(kept)
        if cell.cell_type == "markdown":
            cell.attachments = {
                name: {mime: data for mime, data in bundle.items() if _image(data) is not None}
                for name, bundle in (cell.get("attachments") or {}).items()
                if isinstance(bundle, dict)
            }
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") in ("display_data", "execute_result"):
                    # the metadata goes too: templates write some of it into attributes (sizes, alt text)
                    output.data = type(output.data)(inert_output_data(output.data))
                    output.metadata = type(output.data)()
        return cell, resources
