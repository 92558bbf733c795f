"""The comparison's RESULTS.md section survives the main benchmark rewriting the file, and vice versa."""

from __future__ import annotations

from pathlib import Path

from bench.compare_report import END, START, keep_section, splice


def test_compare_section_is_replaced_in_place_and_kept_across_a_rewrite(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# results\n\nold figures\n", encoding="utf-8")
    first = f"{START}\nrun one\n{END}"
    results.write_text(splice(results.read_text(encoding="utf-8"), first), encoding="utf-8")
    results.write_text(splice(results.read_text(encoding="utf-8"), f"{START}\nrun two\n{END}"), "utf-8")

    rewritten = keep_section("# results\n\nnew figures\n", results)

    assert rewritten.count(START) == 1
    assert "run two" in rewritten
    assert "run one" not in rewritten
    assert "new figures" in rewritten
    assert keep_section("# fresh\n", tmp_path / "missing.md") == "# fresh\n"
