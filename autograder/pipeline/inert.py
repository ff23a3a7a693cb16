"""Student HTML made inert: what a student wrote or their code displayed can hold
HTML and script, and the graded notebook is rendered in the browsers of whoever
reads it (nbgrader's feedback, formgrader, whose page holds the instructor's
Jupyter token). Everything here goes through nh3 (the Rust sanitiser ammonia);
nothing is sanitised by hand.

- Markdown the student could have written (every markdown cell but the locked
  ones nbgrader put back from the release) is left exactly as written unless
  mistune, the parser nbconvert renders it with, finds raw HTML, a link that is
  not http(s), mailto or a page anchor, or a mermaid block. Such a cell becomes
  its own rendering, sanitised, as one HTML block, so honest markdown and LaTeX
  (`$a<b$`, code spans, `&`) are never touched. TeX that asks MathJax for a link
  or HTML (`\\href`, `\\class`, ...) is shown as text, and attachments keep
  base64 pictures only.
- Outputs keep only mimetypes that carry no script: text/html, text/markdown
  and image/svg+xml are sanitised, images must be base64, and the rest
  (application/javascript, widgets, mermaid, plotly, ...) are dropped with a note.

Not for: the size of the notebook (present.py), or HTML the grader writes
itself (output/report.py escapes what it shows).
"""

from __future__ import annotations

import base64
import binascii
import html
import re

import nbformat
import nh3
from nbconvert.filters.markdown_mistune import InvalidNotebook, IPythonRenderer, MarkdownWithMath

from ..cells import describe, grade_id, is_locked

# Mimetypes an output keeps; the rest can run script in some renderer.
KEPT_MIMETYPES = ("text/plain", "text/html", "text/markdown", "text/latex",
                  "image/png", "image/jpeg", "image/gif", "image/svg+xml")
BASE64_IMAGES = ("image/png", "image/jpeg", "image/gif")

# What mistune makes of markdown that holds no HTML of the writer's own.
MARKDOWN_TOKENS = frozenset({
    "blank_line", "block_code", "block_math", "block_quote", "block_text", "codespan", "def_list",
    "def_list_head", "def_list_item", "emphasis", "heading", "image", "inline_math", "latex_environment",
    "linebreak", "link", "list", "list_item", "multiline_math", "paragraph", "softbreak", "strikethrough",
    "strong", "table", "table_body", "table_cell", "table_head", "table_row", "task_list_item", "text",
    "thematic_break",
})
SAFE_URL_PREFIXES = ("http://", "https://", "mailto:", "#")
MADE_INERT = "its HTML, links or attachments were sanitised, so that nothing in it can run in a browser"
# MathJax macros that make links, HTML attributes or styles out of TeX: math holding one is shown as text.
MATHJAX_MARKUP = re.compile(r"\\(?:href|url|class|cssId|style|bbox|unicode|html|data|require)(?![A-Za-z])")
MATH_AS_TEXT = "tex2jax_ignore mathjax_ignore"  # the classes MathJax 2 and 3 leave alone

STYLE_PROPERTIES = frozenset({
    "text-align", "vertical-align", "color", "background-color", "font-weight", "font-style", "font-size",
    "font-family", "white-space", "padding", "margin", "border", "width", "height", "text-decoration",
})
SVG_STYLE_PROPERTIES = STYLE_PROPERTIES | {
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity", "stroke-linecap",
    "stroke-linejoin", "stroke-dasharray", "stroke-dashoffset", "stroke-miterlimit", "opacity",
    "clip-rule", "text-anchor", "dominant-baseline", "paint-order", "font", "stop-color", "stop-opacity",
}
HTML_POLICY = {
    "tags": nh3.ALLOWED_TAGS | {"tfoot"},
    "attributes": {**nh3.ALLOWED_ATTRIBUTES, "*": {"title", "style"},
                   "table": nh3.ALLOWED_ATTRIBUTES["table"] | {"border"}},
    "allowed_classes": {"table": {"dataframe"}, "div": set(MATH_AS_TEXT.split())},
    "filter_style_properties": STYLE_PROPERTIES,
}
SVG_TAGS = {"svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "tspan",
            "defs", "clipPath", "use", "title", "desc", "linearGradient", "radialGradient", "stop", "pattern",
            "mask", "symbol", "marker", "image"}
SVG_ATTRIBUTES = {
    "id", "d", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "dx", "dy", "width", "height",
    "viewBox", "preserveAspectRatio", "transform", "points", "style", "fill", "fill-opacity", "fill-rule",
    "stroke", "stroke-width", "stroke-opacity", "stroke-linecap", "stroke-linejoin", "stroke-dasharray",
    "stroke-dashoffset", "stroke-miterlimit", "opacity", "clip-path", "clip-rule", "clipPathUnits", "mask",
    "font-family", "font-size", "font-weight", "font-style", "text-anchor", "dominant-baseline", "offset",
    "stop-color", "stop-opacity", "gradientUnits", "gradientTransform", "patternUnits", "patternTransform",
    "markerWidth", "markerHeight", "refX", "refY", "orient", "href", "xlink:href", "xmlns", "version",
}
SVG_POLICY = {
    "tags": SVG_TAGS,
    "attributes": {"*": SVG_ATTRIBUTES},
    "filter_style_properties": SVG_STYLE_PROPERTIES,
    # nh3 drops the xlink namespace declaration; an SVG shown as an image needs it for xlink:href
    "set_tag_attribute_values": {"svg": {"xmlns:xlink": "http://www.w3.org/1999/xlink"}},
}
# A data: URL only as the picture of an image element (where a browser never runs script).
DATA_IMAGE_ATTRIBUTES = {("img", "src"), ("image", "href"), ("image", "xlink:href")}


def _embedded_images_only(tag: str, attribute: str, value: str) -> str | None:
    if not value.strip().lower().startswith("data:"):
        return value
    if (tag, attribute) in DATA_IMAGE_ATTRIBUTES and value.strip().lower().startswith("data:image/"):
        return value
    return None


def _clean(text: str, policy: dict) -> str:
    return nh3.clean(text, url_schemes={"http", "https", "mailto", "data"},
                     attribute_filter=_embedded_images_only, **policy)


def inert_html(text: str) -> str:
    """HTML (an output's text/html, a rendered cell) with nothing left that runs or loads script."""
    return _clean(text, HTML_POLICY)


def inert_svg(text: str) -> str:
    """An SVG picture without script, event handlers, foreign content or links."""
    return _clean(text, SVG_POLICY)


def _safe_url(url: str, attachments: dict) -> bool:
    if url.lower().startswith("attachment:"):
        return url[len("attachment:"):] in attachments
    return url.lower().startswith(SAFE_URL_PREFIXES) or ":" not in url


def _plain_markdown(tokens: list, attachments: dict) -> bool:
    """No token that carries the writer's own HTML, a script URL or something rendered raw."""
    for token in tokens:
        kind, attrs = token.get("type"), token.get("attrs") or {}
        if kind not in MARKDOWN_TOKENS:
            return False
        if kind in ("link", "image") and not _safe_url(str(attrs.get("url", "")), attachments):
            return False
        if kind == "block_code" and str(attrs.get("info", "")).strip().lower().startswith("mermaid"):
            return False  # nbconvert puts a mermaid block in the page unescaped
        if not _plain_markdown(token.get("children") or [], attachments):
            return False
    return True


def _render(text: str, attachments: dict) -> str:
    """nbconvert's own rendering of a markdown cell; a cell it cannot render is shown as text."""
    try:
        return MarkdownWithMath(renderer=IPythonRenderer(escape=False, attachments=attachments)).render(text)
    except (InvalidNotebook, StopIteration, TypeError):  # a missing or empty attachment fails nbconvert's page
        return f"<pre>{html.escape(text)}</pre>"


def inert_markdown(text: str, attachments: dict | None = None) -> str:
    """Markdown as written when it holds no HTML; else its rendering, sanitised, as one HTML block."""
    attachments = attachments if isinstance(attachments, dict) else {}
    tokens, _ = MarkdownWithMath(renderer=None).parse(text)
    markup = MATHJAX_MARKUP.search(text) is not None
    if not markup and _plain_markdown(tokens, attachments):
        return text
    # One line, so that markdown reads it back as one HTML block (a blank line would end it).
    shown = inert_html(_render(text, attachments).strip()).replace("\r", "").replace("\n", "&#10;")
    if shown == text:
        return text  # made inert before
    return f'<div class="{MATH_AS_TEXT}">{shown}</div>' if markup else f"<div>{shown}</div>"


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _inert_value(mimetype: str, value) -> str | None:
    """The value made inert, or None when it must go."""
    if not isinstance(value, str):
        return None
    if mimetype == "text/html":
        return inert_html(value)
    if mimetype == "text/markdown":
        return inert_markdown(value)
    if mimetype == "image/svg+xml":
        return inert_svg(value)
    if mimetype == "text/latex" and MATHJAX_MARKUP.search(value):
        return None
    if mimetype in BASE64_IMAGES and not _is_base64(value):
        return None  # the page puts it inside an attribute
    return value


def _plain_metadata(metadata) -> dict:
    """Only sizes and display hints: a file name or an 'isolated' frame is not the student's to choose."""
    kept = {}
    for mimetype, hints in (metadata.items() if isinstance(metadata, dict) else []):
        if mimetype not in KEPT_MIMETYPES or not isinstance(hints, dict):
            continue
        own = {k: v for k, v in hints.items()
               if (k in ("width", "height") and isinstance(v, (int, float)) and not isinstance(v, bool))
               or (k == "unconfined" and isinstance(v, bool))
               or (k == "needs_background" and v in ("light", "dark"))}
        if own:
            kept[mimetype] = own
    return kept


def inert_output(output) -> list[str]:
    """Make one output inert in place; the mimetypes it lost."""
    if output.get("output_type") not in ("display_data", "execute_result"):
        return []  # streams and errors are text, escaped by every renderer
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    dropped = []
    for mimetype in list(data):
        value = _inert_value(mimetype, data[mimetype]) if mimetype in KEPT_MIMETYPES else None
        if value is None:
            dropped.append(mimetype)
            del data[mimetype]
        else:
            data[mimetype] = value
    if not data:
        data["text/plain"] = (f"[The grader removed this output ({', '.join(dropped)}): it could run code in the "
                              "browser of whoever reads the notebook.]")
    output["data"] = data
    output["metadata"] = nbformat.from_dict(_plain_metadata(output.get("metadata")))
    return dropped


def _inert_attachments(cell) -> None:
    """Attachments keep base64 pictures only; one left with none is removed, so its reference shows as text."""
    found = cell.get("attachments")
    if not isinstance(found, dict):
        cell.pop("attachments", None)
        return
    for name, bundle in list(found.items()):
        kept = {m: v for m, v in (bundle.items() if isinstance(bundle, dict) else [])
                if m in (*BASE64_IMAGES, "image/svg+xml") and isinstance(v, str) and _is_base64(v)}
        if kept:
            found[name] = nbformat.from_dict(kept)
        else:
            del found[name]


def student_could_write(cell) -> bool:
    """Every cell but the locked ones nbgrader put back from the release by their grade id."""
    return not (is_locked(cell) and grade_id(cell))


def _where(cell, index: int) -> str:
    return describe(cell) if grade_id(cell) else f"cell {index + 1}"


def make_inert(nb) -> list[str]:
    """Sanitise the notebook in place before anyone renders it; one sentence for each cell changed."""
    notes = []
    if isinstance(nb.get("metadata"), dict):
        nb.metadata.pop("widgets", None)  # widget state: nbconvert loads the widget manager's script for it
    for index, cell in enumerate(nb.cells):
        kind = cell.get("cell_type")
        if kind == "markdown" and student_could_write(cell):
            if "attachments" in cell:
                _inert_attachments(cell)
            shown = inert_markdown(cell.source, cell.get("attachments"))
            if shown != cell.source:
                cell.source = shown
                notes.append(f"{_where(cell, index)}: {MADE_INERT}")
        elif kind == "raw" and student_could_write(cell) and nh3.is_html(cell.source):
            cell.source = inert_html(cell.source)
            notes.append(f"{_where(cell, index)}: {MADE_INERT}")
        elif kind == "code":
            dropped = sorted({m for output in cell.get("outputs", []) for m in inert_output(output)})
            if dropped:
                notes.append(f"{_where(cell, index)}: outputs of type {', '.join(dropped)} were removed "
                             "(they could run code in a browser)")
    return notes
