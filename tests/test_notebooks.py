"""Notebooks hold no logic and no outputs; their parameters hold no secrets."""
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
FORBIDDEN = [r"^\s*def ", r"^\s*class ", r"^\s*for ", r"^\s*while ", r"import (psycopg|sqlalchemy)",
             r"(?i)\bselect\b.+\bfrom\b", r"create_engine", r"(?i)password\s*="]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_thin_stripped_and_parameterised(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "strip outputs"
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    for cell in code:
        source = "".join(cell["source"])
        for pattern in FORBIDDEN:
            assert not re.search(pattern, source, re.M), f"{path.name}: {pattern!r} in {source!r}"
