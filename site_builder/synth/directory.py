"""The directory: every LEA with its grade span, and its school buildings.

Buildings per district scale with enrollment: a district under about 150 students has one
K-12 building, a small one an elementary plus a high school, larger ones several elementary
buildings, middle and high schools (Kansas City, St. Louis and Springfield get dozens).
Building names come from the real Missouri building-name list: first a name that starts with
the district's own name or city ("Kirksville Primary"), else "<District> Elem." style, then
random real names of the same kind.

The layout is returned as arrays so students can be placed without Python loops:
``band_start[d, g]`` is the index of the first building serving grade ``g`` in LEA ``d`` and
``band_count[d, g]`` how many buildings share that grade (students spread over them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from site_builder.synth.reference import GRADES, N_GRADES, Leas, load_school_names

_SUFFIX = re.compile(r"(\s+(R-?[IVXL\d]+|C-?\d+|\d+|[IVX]+|SCH\.?|SCHOOLS?|DIST\.?|INC\.?))+$",
                     re.IGNORECASE)
EARLY_YEARS = re.compile(
    r"preschool|kindergarten|\bpk\b|\bearly\s+(child|chd|chol|learn|lrning|ed\b|educ)",
    re.IGNORECASE)
"""A name for a centre of the early years only ("Advance Preschool", "Kearney Early Education
Center", "Sparta Pk Center"; not "Marion C. Early Elem."). Every synthetic building serves
grades beyond kindergarten (at least to grade 4), so none is given such a name."""
_KIND_SUFFIX = {"elementary": "Elem.", "middle": "Middle", "high": "High", "k12": "School",
                "other": "Center"}


@dataclass
class Directory:
    districts: pl.DataFrame
    schools: pl.DataFrame
    school_district: np.ndarray   # LEA index of each building
    school_code: np.ndarray       # str
    band_start: np.ndarray        # (D, 14) int32, -1 where the LEA does not serve the grade
    band_count: np.ndarray        # (D, 14) int32
    high_grade: np.ndarray        # (D,) grade index
    low_grade: np.ndarray


_CODE = re.compile(r"\s*\(\d+\)\s*$")
"""A directory's disambiguating code after a name: "EAST BUCHANAN CO. C-1 (025076)"."""
_UPPER = {"KC", "KIPP", "MO"}
_LOWER = {"for", "of", "the", "and"}


def _cased(name: str) -> str:
    """A directory's capitals as a building's name writes them: "LEE'S SUMMIT" -> "Lee's
    Summit", "MCDONALD CO." -> "McDonald Co.", "ACADEMY FOR INTEGRATED ARTS" -> "Academy for
    Integrated Arts", "KC INTERNATIONAL ACADEMY" -> "KC International Academy", "R-II"."""
    def word(m: re.Match[str]) -> str:
        w = m.group(0)
        if w.upper() in _UPPER or (name[m.start() - 1:m.start()] == "-"
                                   and re.fullmatch(r"[IVXL]+", w.upper())):  # R-II
            return w.upper()
        if w.lower() in _LOWER and m.start() > 0:
            return w.lower()
        w = w[:1].upper() + w[1:].lower()
        return w[:2] + w[2:].capitalize() if w.startswith("Mc") and len(w) > 3 else w
    return re.sub(r"[A-Za-z]+(?:'[A-Za-z]+)?", word, name)


def _stem(name: str) -> str:
    """An LEA's name without its number or kind ("KIRKSVILLE R-III" -> "Kirksville"), to
    name its buildings by."""
    plain = _CODE.sub("", name.strip())
    s = _SUFFIX.sub("", plain).strip()
    return _cased(s or plain)


def _layout(share: np.ndarray, enr: float, kind: str,
            single: bool) -> list[tuple[str, int, int, int]]:
    """(school_kind, low grade index, high grade index, number of buildings) for one LEA."""
    served = np.flatnonzero(share > 0)
    lo, hi = int(served.min()), int(served.max())
    g5, g6, g8, g9 = GRADES.index("05"), GRADES.index("06"), GRADES.index("08"), GRADES.index("09")
    if single or enr < 150:  # (lo and hi are indices into GRADES, not grades: PK is 0)
        k = "other" if kind == "special" else (
            "k12" if hi >= GRADES.index("10") and lo <= GRADES.index("01") else
            "elementary" if hi <= g8 else "high")
        return [(k, lo, hi, 1)]
    if kind == "special":
        return [("other", lo, hi, max(1, round(enr / 900)))]

    def part(a: int, b: int) -> float:
        a, b = max(a, lo), min(b, hi)
        return float(share[a:b + 1].sum() * enr) if a <= b else 0.0

    if hi <= g8 or lo >= g9:      # an elementary/middle-only or high-only LEA
        if enr < 450 or lo >= g6:
            k = "high" if lo >= g9 else ("middle" if lo >= g6 else "elementary")
            return [(k, lo, hi, max(1, round(enr / 700)))]
        if hi <= g5:
            return [("elementary", lo, hi, max(1, round(enr / 340)))]
        return [("elementary", lo, g5, max(1, round(part(0, g5) / 340))),
                ("middle", g6, hi, max(1, round(part(g6, hi) / 520)))]
    if enr < 650:
        g6b = GRADES.index("06")
        return [("elementary", lo, g6b, 1), ("high", g6b + 1, hi, 1)]
    if lo >= g6:
        return [("middle", lo, g8, max(1, round(part(lo, g8) / 520))),
                ("high", g9, hi, max(1, round(part(g9, hi) / 1000)))]
    return [("elementary", lo, g5, max(1, round(part(0, g5) / 340))),
            ("middle", g6, g8, max(1, round(part(g6, g8) / 520))),
            ("high", g9, hi, max(1, round(part(g9, hi) / 1000)))]


def _school_codes(layout: list[tuple[str, int, int, int]]) -> list[str]:
    base = {"high": 1050, "k12": 1050, "middle": 3000, "elementary": 4020, "other": 6000}
    step = {"high": 10, "k12": 10, "middle": 10, "elementary": 20, "other": 10}
    used: dict[str, int] = {}
    out = []
    for k, _lo, _hi, n in layout:
        for _ in range(n):
            i = used.get(k, 0)
            used[k] = i + 1
            out.append(f"{base[k] + step[k] * i:04d}")
    return out


def build_directory(leas: Leas, rng: np.random.Generator) -> Directory:
    names = load_school_names()
    # Random draws use only names that belong to no place: "John Weldon Elem." fits any
    # district, "Osage Co. Elem." or "Delta C-7 Elem." would not.
    places = {_stem(n).lower() for n in leas.name} | {c.lower() for c in leas.city if c}
    places |= {re.sub(r"\s+co\.$", "", p) for p in places}

    def generic(name: str) -> bool:
        words = name.lower().split()
        if any(" ".join(words[:i]) in places for i in range(1, len(words))):
            return False
        return not re.search(r"\bco\.|\d|\bcounty\b|-\s*\w+$", name.lower())

    pool = {k: [n for n in names.filter(pl.col("kind") == k)["school_name"].to_list()
                if generic(n) and not EARLY_YEARS.search(n)]
            for k in ("elementary", "middle", "high", "other")}
    pool["k12"] = pool["high"]
    # Names by their leading words ("kirksville", "adair co.", ...), to find a district's own.
    by_prefix: dict[str, list[str]] = {}
    for n in names["school_name"].to_list():
        words = n.lower().split()
        for i in range(1, min(len(words), 5)):
            by_prefix.setdefault(" ".join(words[:i]), []).append(n)

    e24 = leas.enrollment_for(2024)
    d_rows, s_rows = [], []
    band_start = np.full((leas.n, N_GRADES), -1, np.int32)
    band_count = np.zeros((leas.n, N_GRADES), np.int32)
    low = np.zeros(leas.n, np.int32)
    high = np.zeros(leas.n, np.int32)
    school_district: list[int] = []
    school_code: list[str] = []
    for d in range(leas.n):
        layout = _layout(leas.grade_share[d], float(e24[d]), leas.kind[d],
                         bool(leas.single_school[d]))
        low[d] = min(lo for _, lo, _, _ in layout)
        high[d] = max(hi for _, _, hi, _ in layout)
        d_rows.append((leas.code[d], leas.name[d], leas.county_code[d], leas.county_name[d],
                       leas.kind[d], GRADES[low[d]], GRADES[high[d]]))
        stem = _stem(leas.name[d])
        keys = {stem.lower()}
        if leas.city[d]:
            keys.add(leas.city[d].lower())
        own = sorted({n for k in keys for n in by_prefix.get(k, [])})
        used: set[str] = set()
        codes = _school_codes(layout)
        ci = 0
        for k, lo, hi, n in layout:
            first = len(school_code)
            for _ in range(n):
                cand = [o for o in own if o not in used and _kind_matches(o, k)
                        and not EARLY_YEARS.search(o)]
                if cand:
                    nm = cand[0]
                else:  # "Gordon Parks Elem." (a charter LEA's name) is not given another "Elem."
                    nm = stem if _kind_matches(stem, k) and k != "other" \
                        else f"{stem} {_KIND_SUFFIX[k]}"
                    tries = 0
                    while nm in used and tries < 50:
                        p = pool[k] or pool["elementary"]
                        nm = p[int(rng.integers(len(p)))]
                        tries += 1
                used.add(nm)
                s_rows.append((leas.code[d], codes[ci], nm, k, GRADES[lo], GRADES[hi]))
                school_district.append(d)
                school_code.append(codes[ci])
                ci += 1
            band_start[d, lo:hi + 1] = first
            band_count[d, lo:hi + 1] = n

    dcols = ["district_code", "district_name", "county_code", "county_name", "lea_kind",
             "low_grade", "high_grade"]
    scols = ["district_code", "school_code", "school_name", "school_kind", "low_grade",
             "high_grade"]
    districts = pl.DataFrame(d_rows, schema=dcols, orient="row")
    schools = pl.DataFrame(s_rows, schema=scols, orient="row")
    return Directory(districts=districts, schools=schools,
                     school_district=np.array(school_district, np.int32),
                     school_code=np.array(school_code), band_start=band_start,
                     band_count=band_count, high_grade=high, low_grade=low)


def _kind_matches(name: str, kind: str) -> bool:
    from site_builder.synth.data.derive import school_kind  # the same rule as the pool

    got = school_kind(name)
    return got == kind or (kind == "k12" and got == "high") or (kind == "other")
