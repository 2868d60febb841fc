"""The policy file loads into a typed model; every problem is reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from site_builder.disclosure.policy import Policy, load_policy, parse_policy
from site_builder.errors import SpecError

POLICY_FILE = Path("report_specs/policy.yaml")


def data() -> dict:
    return yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))


def test_policy_loads_and_every_field_is_described() -> None:
    p = load_policy(POLICY_FILE)
    assert p.min_cell_size == 30
    assert p.band_for(29) is None and p.band_for(35).top == 90 and p.band_for(40).top == 95
    assert p.band_for(100).bottom == 2 and p.band_for(5000).top == 99
    models = [Policy]
    seen = set()
    while models:
        m = models.pop()
        if m in seen:
            continue
        seen.add(m)
        for name, f in m.model_fields.items():
            assert f.description, f"{m.__name__}.{name} has no description"
            for t in getattr(f.annotation, "__args__", ()) + (f.annotation,):
                if isinstance(t, type) and hasattr(t, "model_fields"):
                    models.append(t)
    assert len(seen) > 5


def test_all_errors_at_once_with_file_and_key() -> None:
    d = data()
    d["min_cell_size"] = 5
    d["protection"]["min_range_primary"] = "wide"
    d["coding_bands"][1]["top"] = 101
    with pytest.raises(SpecError) as err:
        parse_policy(d, "report_specs/policy.yaml")
    msg = str(err.value)
    assert ("report_specs/policy.yaml: min_cell_size: must be at least 30, the MOSIS minimum: "
            "no published number may disclose fewer than 30 students (got 5; a larger, "
            "stricter value is allowed)") in msg
    assert "report_specs/policy.yaml: protection.min_range_primary:" in msg
    assert "report_specs/policy.yaml: coding_bands[1]: need 0 <= bottom < top <= 100" in msg
    assert msg.startswith("3 errors")


def test_bands_must_be_contiguous() -> None:
    d = data()
    d["coding_bands"][2]["min_n"] = 120
    with pytest.raises(SpecError, match="band starting at 120 does not follow"):
        parse_policy(d)


def test_unknown_key_and_missing_file(tmp_path: Path) -> None:
    d = data()
    d["min_cel_size"] = 30
    with pytest.raises(SpecError, match="min_cel_size: Extra inputs are not permitted"):
        parse_policy(d)
    with pytest.raises(SpecError, match="file not found"):
        load_policy(tmp_path / "nope.yaml")


def test_a_population_bound_names_known_populations() -> None:
    d = data()
    d["population_bounds"] = [{"population": "tested", "within": "enroled"}]
    with pytest.raises(SpecError, match=r"population_bounds\[0\]\.within: 'enroled' is not a "
                                        r"population of any topic \(populations: cohort, "
                                        r"enrolled, tested\)"):
        parse_policy(d)
    assert load_policy(POLICY_FILE).population_bounds[0].within == "enrolled"
