"""The synthetic extract generator: contract, determinism, IDs, tiny profile, canaries, files."""

from __future__ import annotations

import hashlib
import json
import re
import stat
from pathlib import Path

import polars as pl
import pytest

from site_builder import schema
from site_builder.errors import InputError
from site_builder.extract import find_file, load_extract, scan_file
from site_builder.synth import SynthError, generate, names, writer
from site_builder.synth.data.derive import school_kind
from site_builder.synth.directory import EARLY_YEARS
from site_builder.synth.reference import load_leas

pytest_plugins = ["synth_fixtures"]
TINY_CANARIES = 3  # as in synth_fixtures.tiny_extract

YEARS = (2021, 2022, 2023, 2024, 2025)


def read(root: Path, spec: schema.FileSpec, year: int | None = None) -> pl.DataFrame:
    """Every column of one file (PII included), as written."""
    folder = root / (str(year) if year is not None else "directory")
    path = find_file(folder, spec.name)
    assert path is not None, f"{folder}/{spec.name} missing"
    if path.suffix == ".csv" and not spec.per_year:
        return pl.read_csv(path, infer_schema=False)
    return pl.read_parquet(path) if path.suffix == ".parquet" else scan_file(
        path, spec, include_pii=True).collect()


def tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def check_contract(df: pl.DataFrame, spec: schema.FileSpec) -> None:
    """Types, nulls, code sets, patterns, ranges and uniqueness as the schema declares."""
    assert df.columns == spec.column_names
    for c in spec.columns:
        s = df[c.name]
        if spec.per_year:
            assert s.dtype == schema.POLARS_TYPES[c.dtype], (spec.name, c.name, s.dtype)
        if not c.nullable:
            assert s.null_count() == 0, (spec.name, c.name)
        if c.codes is not None:
            bad = set(s.drop_nulls().unique().to_list()) - set(c.codes)
            assert not bad, (spec.name, c.name, bad)
        if c.pattern is not None:
            assert s.drop_nulls().str.contains(f"^(?:{c.pattern})$").all(), (spec.name, c.name)
        if c.min is not None:
            assert s.cast(pl.Int64).min() >= c.min, (spec.name, c.name)
        if c.max is not None:
            assert s.cast(pl.Int64).max() <= c.max, (spec.name, c.name)
    if spec.unique:
        assert df.select(spec.unique).is_duplicated().sum() == 0, spec.name


def test_tiny_extract_loads_through_the_loader(tiny_extract: Path) -> None:
    ex = load_extract(tiny_extract)
    assert ex.years == YEARS
    enr = ex.enrollment.collect()
    assert set(enr["year"].unique()) == set(YEARS)
    assert not set(schema.PII_COLUMNS) & set(enr.columns)
    assert ex.assessment.collect().height > 0
    assert ex.graduation.collect().height > 0
    meta = json.loads((tiny_extract / "extract.json").read_text())
    assert meta["seed"] == 7 and meta["profile"] == "tiny" and meta["years"] == list(YEARS)
    assert meta["row_counts"]["2024"]["enrollment"] == read(
        tiny_extract, schema.ENROLLMENT, 2024).height
    assert "time" not in json.dumps(meta).lower()


def test_every_file_meets_the_contract(tiny_extract: Path) -> None:
    districts = read(tiny_extract, schema.DISTRICTS)
    schools = read(tiny_extract, schema.SCHOOLS)
    check_contract(districts, schema.DISTRICTS)
    check_contract(schools, schema.SCHOOLS)
    assert set(schools["district_code"]) == set(districts["district_code"])
    for y in YEARS:
        for spec in schema.YEAR_FILES:
            check_contract(read(tiny_extract, spec, y), spec)


def test_rows_are_consistent_with_each_other(tiny_extract: Path) -> None:
    schools = read(tiny_extract, schema.SCHOOLS).with_columns(
        lo=pl.col("low_grade").replace_strict(schema.GRADE_ORDER),
        hi=pl.col("high_grade").replace_strict(schema.GRADE_ORDER))
    allowed = pl.DataFrame([(s, g) for s, gs in schema.SUBJECTS.items() for g in gs],
                           schema=["subject", "grade"], orient="row")
    for y in YEARS:
        enr = read(tiny_extract, schema.ENROLLMENT, y)
        assert (enr["days_attended"] <= enr["days_enrolled"]).all()
        # Each student's grade is one their building serves.
        placed = enr.join(schools, on=["district_code", "school_code"], how="left")
        assert placed["lo"].null_count() == 0
        g = placed["grade"].replace_strict(schema.GRADE_ORDER)
        assert ((g >= placed["lo"]) & (g <= placed["hi"])).all()
        # Tested students are enrolled that year at that school, in a grade the subject allows.
        tests = read(tiny_extract, schema.ASSESSMENT, y)
        assert tests.join(allowed, on=["subject", "grade"], how="anti").height == 0
        joined = tests.join(enr, on=["student_id"], how="left", suffix="_e")
        assert joined["grade_e"].null_count() == 0
        assert (joined["grade"] == joined["grade_e"]).all()
        assert (joined["district_code"] == joined["district_code_e"]).all()
        assert (joined["school_code"] == joined["school_code_e"]).all()
        # Levels follow scores (higher level never has a lower score within a subject/grade).
        lv = tests.with_columns(pl.col("achievement_level").replace_strict(
            {v: i for i, v in enumerate(schema.ACHIEVEMENT_LEVELS)}).alias("lv"))
        rng = lv.group_by("subject", "grade", "lv").agg(pl.col("scale_score").min().alias("lo"),
                                                        pl.col("scale_score").max().alias("hi"))
        for _, part in rng.sort("lv").group_by("subject", "grade"):
            assert (part["lo"].to_numpy()[1:] > part["hi"].to_numpy()[:-1]).all()
        grad = read(tiny_extract, schema.GRADUATION, y)
        hs = grad.join(schools, on=["district_code", "school_code"], how="left")
        assert (hs["hi"] == schema.GRADE_ORDER["12"]).all()


def test_end_of_course_tests_are_taken_once(tiny_extract: Path) -> None:
    tests = pl.concat([read(tiny_extract, schema.ASSESSMENT, y) for y in YEARS])
    eoc = tests.filter(pl.col("subject").is_in(["English II", "Algebra I", "Biology"]))
    assert eoc.height > 0
    assert eoc.select("student_id", "subject").is_duplicated().sum() == 0


def test_students_keep_their_identity_and_move_up(tiny_extract: Path) -> None:
    enr = pl.concat([read(tiny_extract, schema.ENROLLMENT, y) for y in YEARS])
    fixed = enr.group_by("student_id").agg(
        [pl.col(c).n_unique().alias(c) for c in ("first_name", "last_name", "birth_date", "sex",
                                                  "ssn")])
    for c in ("first_name", "last_name", "birth_date", "sex", "ssn"):
        assert fixed[c].max() == 1, c
    # Most students appear in more than one year (IDs are stable).
    assert (enr.group_by("student_id").len()["len"] > 1).mean() > 0.6
    steps = (enr.with_columns(g=pl.col("grade").replace_strict(schema.GRADE_ORDER))
             .sort("student_id", "year")
             .with_columns(dg=pl.col("g").diff().over("student_id"),
                           dy=pl.col("year").diff().over("student_id"))
             .filter(pl.col("dy") == 1))
    assert steps["dg"].is_in([0, 1]).all()
    assert (steps["dg"] == 1).mean() > 0.95
    # Birth dates fit the grade: 5-6 at the start of K (a late start or a repeat adds a year).
    k = enr.filter(pl.col("grade") == "K")
    age = (pl.date(pl.col("year") - 1, 9, 1) - pl.col("birth_date")).dt.total_days() / 365.25
    ages = k.select(age.alias("a"))["a"]
    assert ages.min() > 4.9 and ages.max() < 8.1
    assert ((ages > 5) & (ages < 6.2)).mean() > 0.85
    # Unique SSNs and IDs; fake SSN areas only.
    per = enr.unique("student_id")
    held = per["ssn"].drop_nulls()
    assert held.n_unique() == held.len()
    assert 0.005 < per["ssn"].null_count() / per.height < 0.08   # some districts hold none
    assert per["ssn"].str.slice(0, 3).cast(pl.Int32).min() >= 900


def test_tiny_profile_has_its_edge_cases(tiny_extract: Path) -> None:
    enr = read(tiny_extract, schema.ENROLLMENT, 2024)
    hisp = dict(enr.filter(pl.col("race") == "HI").group_by("district_code").len().iter_rows())
    assert hisp["002089"] == 29
    assert hisp["001091"] == 31
    schools = read(tiny_extract, schema.SCHOOLS)
    districts = read(tiny_extract, schema.DISTRICTS)
    assert districts.height == 5
    per = dict(schools.group_by("district_code").len().iter_rows())
    assert per["001092"] == 1
    assert per["001091"] >= 4
    # Buildings of one district differ (attendance zones), not just by chance.
    elem = (enr.filter(pl.col("district_code") == "001091")
            .join(schools.filter(pl.col("school_kind") == "elementary"),
                  on=["district_code", "school_code"])
            .group_by("school_code").agg(pl.col("ecodis").mean()))
    assert elem.height >= 3
    assert elem["ecodis"].max() - elem["ecodis"].min() > 0.15
    k8 = districts.filter(pl.col("high_grade") == "08")["district_code"].to_list()
    assert k8 == ["002090"]
    for y in YEARS:
        e = read(tiny_extract, schema.ENROLLMENT, y).filter(pl.col("district_code") == "002090")
        assert e.height > 100
        assert not e["grade"].is_in(["09", "10", "11", "12"]).any()
        g = read(tiny_extract, schema.GRADUATION, y)
        assert "002090" not in g["district_code"].to_list()
        assert g.filter(pl.col("district_code") == "001091").height >= 100


def test_canaries_are_planted_and_listed(tiny_extract: Path) -> None:
    listed = json.loads((tiny_extract / "canaries.json").read_text())["canaries"]
    assert len(listed) == TINY_CANARIES
    ids = [c["student_id"] for c in listed]
    assert ids == [f"999000000{i}" for i in range(1, TINY_CANARIES + 1)]
    enr = pl.concat([read(tiny_extract, schema.ENROLLMENT, y) for y in YEARS])
    tests = pl.concat([read(tiny_extract, schema.ASSESSMENT, y) for y in YEARS])
    for c in listed:
        rows = enr.filter(pl.col("student_id") == c["student_id"])
        assert rows.height == len(c["enrollments"]) >= 1
        assert set(rows["first_name"]) == {"Canary"}
        assert set(rows["last_name"]) == {c["last_name"]}
        assert set(rows["ssn"]) == {c["ssn"]} and c["ssn"].startswith("999")
        assert str(rows["birth_date"][0]) == c["birth_date"]
        assert tests.filter(pl.col("student_id") == c["student_id"]).height > 0
    others = enr.filter(pl.col("first_name") != "Canary")
    assert not others["student_id"].str.starts_with("999").any()
    assert not others["ssn"].str.starts_with("999").any()
    assert not others["last_name"].str.starts_with("Zzyzx").any()


def test_files_are_private(tiny_extract: Path) -> None:
    assert stat.S_IMODE(tiny_extract.stat().st_mode) == 0o700
    for p in tiny_extract.rglob("*"):
        want = 0o700 if p.is_dir() else 0o600
        assert stat.S_IMODE(p.stat().st_mode) == want, p


def test_same_seed_same_bytes_other_seed_differs(tiny_extract: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, seed=7, profile="tiny", canaries=TINY_CANARIES)
    assert tree_hash(again) == tree_hash(tiny_extract)
    other = tmp_path / "other"
    generate(other, seed=8, profile="tiny", canaries=TINY_CANARIES)
    assert tree_hash(other) != tree_hash(tiny_extract)


def test_a_later_year_leaves_the_earlier_years_as_they_were(tiny_extract: Path,
                                                            tmp_path: Path) -> None:
    """A new school year's extract holds last year's extract's history, byte for byte, as
    a real one does: publishing the new year then revises nothing already published.
    (Until generator version 2, every year's scores were drawn after every simulated
    year's test choices, so asking for 2026 changed 8,127 of 2021-2025's assessment cells
    on the tiny state, and publishing 2026 over the live site had to keep five revised
    years from their live patterns, which for 2024 could not be done.)"""
    more = tmp_path / "more"
    generate(more, seed=7, profile="tiny", canaries=TINY_CANARIES, years=range(2021, 2027))
    for year in range(2021, 2026):
        for f in sorted((tiny_extract / str(year)).iterdir()):
            assert f.read_bytes() == (more / str(year) / f.name).read_bytes(), f
    assert (more / "2026" / "assessment.parquet").is_file()


def test_csv_format_holds_the_same_data(tiny_extract: Path, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    generate(out, seed=7, profile="tiny", canaries=TINY_CANARIES, fmt="csv", years=(2024,))
    assert (out / "2024" / "enrollment.csv").exists()
    got = load_extract(out).enrollment.collect()
    assert got.height > 3000
    assert got.schema == load_extract(tiny_extract, (2024,)).enrollment.collect().schema


def test_replacing_an_extract_is_all_or_nothing(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "x"
    generate(out, seed=1, profile="tiny", years=(2024,))
    before = tree_hash(out)
    calls = {"n": 0}
    real = writer.write_frame

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(writer, "write_frame", failing)
    with pytest.raises(OSError):
        generate(out, seed=2, profile="tiny", years=(2024,))
    assert tree_hash(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_refuses_to_replace_a_directory_that_is_not_an_extract(tmp_path: Path) -> None:
    out = tmp_path / "notes"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not an extract"):
        generate(out, seed=1, profile="tiny", years=(2024,))
    assert (out / "keep.txt").read_text() == "mine"


def test_scaled_state_has_every_real_lea(small_state_extract: Path) -> None:
    leas = load_leas("state")
    districts = read(small_state_extract, schema.DISTRICTS)
    check_contract(districts, schema.DISTRICTS)
    assert districts.height == 561
    assert districts.group_by("lea_kind").len().sort("lea_kind").rows() == [
        ("charter", 36), ("district", 517), ("special", 8)]
    k8 = districts.filter((pl.col("lea_kind") == "district") & (pl.col("high_grade") == "08"))
    assert k8.height == 70
    schools = read(small_state_extract, schema.SCHOOLS)
    check_contract(schools, schema.SCHOOLS)
    assert 2100 <= schools.height <= 2700
    order = schema.GRADE_ORDER
    for table in (schools, districts):
        lo = table["low_grade"].replace_strict(order)
        hi = table["high_grade"].replace_strict(order)
        assert (lo <= hi).all()
    # A building's kind fits its grades: a K-8 school is no high school, nor named one.
    grades = schools.with_columns(hi=pl.col("high_grade").replace_strict(order))
    last = order["08"]
    assert grades.filter(pl.col("school_kind").is_in(["high", "k12"])
                         & (pl.col("hi") <= last)).rows() == []
    assert grades.filter(pl.col("school_kind").is_in(["elementary", "middle"])
                         & (pl.col("hi") > last)).rows() == []
    named_high = grades["school_name"].map_elements(school_kind, return_dtype=pl.String) == "high"
    assert grades.filter(named_high & (pl.col("hi") <= last)).rows() == []  # not "Ozark Jr. High"
    # A name says the building's kind ("High Pointe Elem." is no high school), once ("Gordon
    # Parks Elem.", not "Gordon Parks Elem. Elem."), and no building serving grades beyond
    # kindergarten is named for the early years ("Advance Preschool").
    said = {n: school_kind(n) for n in grades["school_name"]}
    wrong = [(n, k) for n, k in grades.select("school_name", "school_kind").iter_rows()
             if k != "other" and said[n] not in (k, "other", "high" if k == "k12" else k)]
    assert wrong == []
    assert [n for n in said if re.search(r"(\b\w+\.?) \1$", n)] == []
    assert [n for n in said if EARLY_YEARS.search(n)] == []
    # Names made from an LEA's are cased as names are: "Lee's Summit Elem." (not "Lee'S"),
    # "KC International Academy Elem." (not "Kc"), "East Buchanan Co. Elem." (no code).
    assert [n for n in said if re.search(r"'S\b|\(\d+\)|\bKc |\bR-[IVX]*[a-z]", n)] == []
    # Buildings sit inside their LEA's span.
    span = schools.join(districts, on="district_code", suffix="_d")
    assert (span["low_grade"].replace_strict(order)
            >= span["low_grade_d"].replace_strict(order)).all()
    assert (span["high_grade"].replace_strict(order)
            <= span["high_grade_d"].replace_strict(order)).all()
    enr = read(small_state_extract, schema.ENROLLMENT, 2024)
    check_contract(enr, schema.ENROLLMENT)
    k12 = dict(enr.filter(pl.col("grade") != "PK").group_by("district_code").len().iter_rows())
    real = dict(zip(leas.code, leas.enrollment[2024], strict=True))
    # Every LEA's K-12 head count is its real enrollment x 0.02, rounded.
    for code, e in real.items():
        assert k12.get(code, 0) == round(e * 0.02), code
    # Identities are unique state-wide; names go with the population.
    people = enr.unique("student_id")
    held = people["ssn"].drop_nulls()
    assert held.n_unique() == held.len()
    spanish = people.with_columns(sp=pl.col("last_name").is_in(names.HISPANIC_LAST))
    by_race = dict(spanish.group_by("race").agg(pl.col("sp").mean()).iter_rows())
    assert by_race["HI"] > 0.5 and by_race["WH"] < 0.1
    biggest = schools.group_by("district_code").len().sort("len")["len"][-1]
    assert biggest >= 25


def test_graduation_cohorts_agree_with_enrollment(tiny_extract: Path) -> None:
    enr = {y: read(tiny_extract, schema.ENROLLMENT, y) for y in YEARS}
    for y in YEARS:
        g = read(tiny_extract, schema.GRADUATION, y)
        assert set(g["outcome"]) >= {"graduated"}
        now = g.join(enr[y].select("student_id", "grade"), on="student_id", how="left")
        # Graduates and continuing students are this year's seniors.
        seniors = now.filter(pl.col("outcome").is_in(["graduated", "continuing"]))
        assert (seniors["grade"] == "12").all()
        # Leavers counted as dropouts are not enrolled any more.
        left = now.filter(pl.col("grade").is_null())
        assert left["outcome"].is_in(["dropped_out", "hse"]).all()
        if y + 1 in enr:
            nxt = g.join(enr[y + 1].select("student_id", "grade"), on="student_id", how="left")
            cont = nxt.filter(pl.col("outcome") == "continuing")
            assert (cont["grade"] == "12").all()
            done = nxt.filter(pl.col("outcome") != "continuing")
            assert done["grade"].null_count() == done.height


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"scale": 0.0}, "scale must be above 0"),
    ({"canaries": -1}, "canaries must be between 0 and 9999"),
    ({"profile": "county"}, "profile must be one of state, central, tiny"),
    ({"fmt": "xlsx"}, "format must be parquet or csv"),
    ({"profile": "tiny", "canaries": 9000, "years": (2024,)}, "to turn into 9000 canaries"),
])
def test_bad_arguments_are_explained(tmp_path: Path, kwargs: dict[str, object],
                                     message: str) -> None:
    out = tmp_path / "x"
    with pytest.raises(SynthError, match=message):
        generate(out, seed=1, **kwargs)  # type: ignore[arg-type]
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_central_profile_is_ten_real_counties(tmp_path: Path) -> None:
    from site_builder.synth.reference import CENTRAL_COUNTIES

    leas = load_leas("central")
    state = load_leas("state")
    assert len(leas.code) == 46
    assert set(leas.county_name) == set(CENTRAL_COUNTIES)
    # The same LEAs, with the same real enrollment, as in the state profile.
    idx = {c: i for i, c in enumerate(state.code)}
    assert all(state.name[idx[c]] == n for c, n in zip(leas.code, leas.name, strict=True))
    meta = generate(tmp_path / "c", seed=3, years=(2024,), profile="central")
    assert meta["districts"] == 46 and meta["profile"] == "central"
