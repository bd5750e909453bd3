"""pgvet: a PostgreSQL audit kit — checks in queries/, notebooks in notebooks/, reports in reports/."""
__version__ = "0.1.0"

import sys as _sys

# jsonschema (under nbformat, which plotly's renderers and Papermill import) loads rfc3987_syntax when
# it is installed (JupyterLab brings it), and that builds a grammar for 1.6–2.8 s in every process:
# each page process and each kernel paid it. Nothing here validates IRI formats, so it is left out.
_sys.modules.setdefault("rfc3987_syntax", None)
