"""Executed notebook -> self-contained, offline HTML (code hidden, Plotly drawn, no secrets)."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import plotly.io as pio
import plotly.offline
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor

from .redact import redact

PLOTLY_MIME = "application/vnd.plotly.v1+json"
TEMPLATES = Path(__file__).resolve().parent / "templates"
PARAMETER_TAGS = {"parameters", "injected-parameters"}
PLOTLY_JS_SLOT = "/* pgvet: plotly.js goes here */"


class PlotlyToHTML(Preprocessor):
    """Plotly 7 renders only its JSON mimetype, which stock nbconvert cannot draw: pre-render a <div>."""

    def preprocess_cell(self, cell, resources, index):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if PLOTLY_MIME in data:
                fig = pio.from_json(json.dumps(data[PLOTLY_MIME]), skip_invalid=True)
                data["text/html"] = pio.to_html(fig, full_html=False, include_plotlyjs=False,
                                                config={"displaylogo": False})
                for mime in [m for m in data if m not in ("text/html",)]:
                    del data[mime]
        return cell, resources


def without_parameters(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop the parameter cells, papermill's copy of the parameters, and stderr (progress bars, kernel
    warnings): a stakeholder reads results, not logs. Errors are outputs of their own and stay."""
    nb.cells = [c for c in nb.cells if not PARAMETER_TAGS & set(c.get("metadata", {}).get("tags", []))]
    for cell in nb.cells:
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    nb.metadata.get("papermill", {}).pop("parameters", None)
    return nb


def redacted(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with every password-like string masked."""
    return nbformat.reads(redact(nbformat.writes(nb)), as_version=4)


def notebook_to_html(nb_path: str | Path, html_path: str | Path, title: str) -> Path:
    """Write `html_path` from the executed notebook at `nb_path`."""
    nb = redacted(without_parameters(nbformat.read(str(nb_path), as_version=4)))
    nb.metadata["title"] = title
    exporter = HTMLExporter(template_name="pgvet", extra_template_basedirs=[str(TEMPLATES)], exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.register_preprocessor(PlotlyToHTML(), enabled=True)
    body, _ = exporter.from_notebook_node(nb, resources={"plotly_js": PLOTLY_JS_SLOT})
    html_path = Path(html_path)
    # redact what came from the notebook and the template, then inline plotly.js (5 MB of library code
    # that holds no secret and would cost a second of regular expressions per page)
    html_path.write_text(redact(body).replace(PLOTLY_JS_SLOT, plotly.offline.get_plotlyjs(), 1))
    return html_path
