"""The packaged legal-form list is exactly what the builder makes from the ISO 20275 list."""

from __future__ import annotations

from importlib import resources

from revisit.enrichment.legal_forms import EXCLUDED, build_legal_forms
from tests.conftest import SHARED_DATA

ISO_LIST = SHARED_DATA / "legal-forms-iso20275" / "ISO-20275-ELF-code-list-2026-02-19.csv"


def packaged_forms() -> list[str]:
    text = resources.files("enrichment").joinpath("data/legal_forms.txt").read_text("utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_packaged_list_is_up_to_date() -> None:
    assert packaged_forms() == build_legal_forms(ISO_LIST)


def test_list_has_the_forms_names_are_written_with() -> None:
    forms = set(packaged_forms())
    assert {
        "co ltd",
        "kk",
        "inc",
        "corp",
        "corporation",
        "ltd",
        "llc",
        "gmbh",
        "ab",
        "sa",
        "plc",
        "bv",
        "kabushiki kaisha",
        "sarl",
        "oy",
        "as",
    } <= forms
    assert not (forms & EXCLUDED)
