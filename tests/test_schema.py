"""The JSON Schema: bundled specs validate; what archcost rejects structurally, the schema rejects too."""

from __future__ import annotations

import pytest
import yaml

from archcost import layers, spec

jsonschema = pytest.importorskip("jsonschema")


@pytest.fixture(scope="module")
def validator() -> object:
    schema = spec.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("name", spec.bundled_names())
def test_bundled_specs_validate(validator: object, name: str) -> None:
    doc = yaml.safe_load((spec.bundled_dir() / f"{name}.yaml").read_text())
    errors = list(validator.iter_errors(doc))  # type: ignore[attr-defined]
    assert not errors, [e.message for e in errors[:3]]


BASE = "archcost: 1\nname: t\ninput: [3, 8, 8]\n"


@pytest.mark.parametrize(
    "text",
    [
        BASE + "layers:\n  - conv: {out: 8, kernel: 3, colour: red}\n",  # unknown argument
        BASE + "layers:\n  - conv: {kernel: 3}\n",  # missing required argument
        BASE + "layers:\n  - conv: {out: eight, kernel: 3}\n",  # wrong type
        BASE + "layers:\n  - conv: {out: 8, kernel: 3}\n    relu: {}\n",  # two kinds in one item
        BASE + "layerz: []\nlayers: [relu]\n",  # unknown top-level key
        BASE + "layers:\n  - parallel: {merge: max, branches: [[relu], [relu]]}\n",  # unknown merge
    ],
)
def test_schema_rejects_what_archcost_rejects(validator: object, text: str) -> None:
    assert list(validator.iter_errors(yaml.safe_load(text)))  # type: ignore[attr-defined]
    with pytest.raises(Exception, match=r".+"):
        from archcost import engine

        engine.analyze(spec.load_text(text))


@pytest.mark.parametrize("kind", [k for k in layers.CATALOG if not k.merge], ids=lambda k: k.name)
def test_every_kind_is_in_the_schema(kind: layers.Kind) -> None:
    item = spec.json_schema()["$defs"]["item"]["anyOf"][1]["properties"]
    assert kind.name in item
