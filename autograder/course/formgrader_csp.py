"""A Content-Security-Policy on formgrader's submission pages: defence in depth behind ``inert``.

The page may run its own scripts only: the files it loads (from the server, and MathJax's origin),
and the inline scripts and event handlers that nbgrader's template writes above the student's
notebook, allowed by their SHA-256 hashes. Whatever sits in the notebook's part of the page cannot
run inline script, load frames, objects or remote images, submit forms, or connect anywhere but the
server itself (formgrader's API). ``install`` wraps ``SubmissionHandler.write`` in the Jupyter server
that formgrader runs in; ``plugins.configure`` calls it there, from the course's ``nbgrader_config.py``.
"""

import base64
import hashlib
import re
from urllib.parse import urlsplit

INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
HANDLER = re.compile(r"""\son\w+\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
SCRIPT_SRC = re.compile(r"""<script\b[^>]*\bsrc\s*=\s*["']([^"']+)["']""", re.I)
NOTEBOOK = 'id="notebook-container"'  # where nbgrader's formgrade template starts the student's notebook


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def policy(page: str) -> str:
    """The policy for one rendered submission page."""
    own = page.split(NOTEBOOK, 1)[0]
    hashes = {_sha(body) for attributes, body in INLINE_SCRIPT.findall(own) if "src=" not in attributes}
    hashes |= {_sha(a or b) for a, b in HANDLER.findall(own)}
    origins = {
        f"{u.scheme}://{u.netloc}" for u in map(urlsplit, SCRIPT_SRC.findall(own)) if u.scheme in ("http", "https")
    }
    remote = " ".join(sorted(origins))
    return "; ".join(
        [
            "default-src 'none'",
            # MathJax 2 evaluates its configuration; the page's own inline code goes by hash
            f"script-src 'self' {remote} 'unsafe-eval' 'unsafe-hashes' {' '.join(sorted(hashes))}",
            f"style-src 'self' 'unsafe-inline' {remote}",
            f"font-src 'self' data: {remote}",
            "img-src 'self' data:",
            "connect-src 'self'",
            "frame-src 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'self'",
        ]
    )


def install() -> None:
    """Send the policy with every submission page formgrader writes (idempotent)."""
    from nbgrader.server_extensions.formgrader.handlers import SubmissionHandler

    if getattr(SubmissionHandler, "a12_csp", False):
        return
    write = SubmissionHandler.write

    def write_with_policy(self, chunk):
        if isinstance(chunk, str) and NOTEBOOK in chunk:
            self.set_header("Content-Security-Policy", policy(chunk))
        return write(self, chunk)

    SubmissionHandler.write = write_with_policy
    SubmissionHandler.a12_csp = True
