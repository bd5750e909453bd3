"""The check catalogue: discovery, header validation, docs, parameters."""
import pytest

from pgvet.catalog import DOC_SECTIONS, load_check, load_checks, select_checks
from pgvet.errors import CatalogError, UsageError

FIRST_CHECKS = {"fk_type_mismatch", "unindexed_foreign_keys", "seq_scan_hotspots", "table_bloat"}


def test_every_shipped_check_loads_with_a_complete_doc():
    checks = load_checks()
    assert FIRST_CHECKS <= {c.id for c in checks}
    for c in checks:
        doc = c.doc_path.read_text()
        missing = [s for s in DOC_SECTIONS if s not in doc]
        assert not missing, f"{c.doc_path} lacks {missing}"


def _write(tmp_path, area, stem, header, body="SELECT 1", doc=True):
    folder = tmp_path / area
    folder.mkdir(exist_ok=True)
    path = folder / f"{stem}.sql"
    path.write_text("-- ---\n" + "".join(f"-- {line}\n" for line in header.splitlines()) + "-- ---\n" + body)
    if doc:
        path.with_suffix(".md").write_text("# doc\n")
    return path


SAYS = "\ntier: latent\nsentence: '{table} is x'\nlabel: x\nsection: X"
GOOD = "id: x\ntitle: X\narea: a\nseverity: info" + SAYS


@pytest.mark.parametrize("header, message", [
    ("id: x\ntitle: X\narea: a" + SAYS, "lacks severity"),
    ("id: x\ntitle: X\narea: a\nseverity: info", "lacks tier, sentence, label, section"),
    ("id: y\ntitle: X\narea: a\nseverity: info" + SAYS, "does not match the file name"),
    ("id: x\ntitle: X\narea: b\nseverity: info" + SAYS, "does not match the folder"),
    ("id: x\ntitle: X\narea: a\nseverity: urgent" + SAYS, "severity must be one of"),
    (GOOD.replace("tier: latent", "tier: someday"), "tier must be one of"),
    (GOOD + "\nharm: {unit: rows}", "harm is a mapping of metric"),
    (GOOD + "\nthreshold: 3", "unknown header keys"),
    (GOOD + "\nrequires: {extensions: [x], magic: 1}", "requires may hold"),
])
def test_a_bad_header_fails_fast_naming_the_file(tmp_path, header, message):
    path = _write(tmp_path, "a", "x", header)
    with pytest.raises(CatalogError, match=message) as exc:
        load_check(path)
    assert str(path) in str(exc.value)


def test_a_check_without_its_doc_is_rejected(tmp_path):
    with pytest.raises(CatalogError, match="missing its doc"):
        load_check(_write(tmp_path, "a", "x", GOOD, doc=False))


def test_unknown_check_or_area_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown check or area: nope"):
        select_checks(load_checks(), "references,nope")
    assert {c.area for c in select_checks(load_checks(), "references")} == {"references"}
    assert [c.id for c in select_checks(load_checks(), "table_bloat")] == ["table_bloat"]


def test_parameter_overrides_are_typed_like_their_default():
    (check,) = select_checks(load_checks(), "seq_scan_hotspots")
    resolved = check.resolved_params({"seq_scan_hotspots.min_seq_scans": "5", "min_table_bytes": "0",
                                      "table_bloat.warn_pct": "1"})
    assert resolved["min_seq_scans"] == 5 and resolved["min_table_bytes"] == 0
    assert resolved["big_table_bytes"] == 1073741824
    with pytest.raises(UsageError, match="expects a whole number"):
        check.resolved_params({"min_seq_scans": "many"})
