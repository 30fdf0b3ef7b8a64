"""docs/reference.md is the registries' own tables: a name registered is a name documented."""

from pathlib import Path

from deltaprop import vocabulary
from deltaprop.activations import ACTIVATIONS
from deltaprop.optimizers import OPTIMIZERS
from deltaprop.options import OPTIONS

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference.md"


def test_the_reference_page_is_made_from_the_registries():
    assert REFERENCE.read_text(encoding="utf-8") == vocabulary.tables(), (
        "docs/reference.md is out of date: python -c \"import deltaprop.vocabulary as v; "
        "v.write('docs/reference.md')\"")


def test_every_name_and_option_has_its_row():
    page = vocabulary.tables()
    for name in [*ACTIVATIONS, *OPTIMIZERS]:
        assert f"| `{name}` |" in page
    for option in OPTIONS:
        assert f"| `{option.name}` | `{option.cli_flag}` |" in page
