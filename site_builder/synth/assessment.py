"""MAP test results from a latent-ability model.

Who is tested: grades 3-8 take ELA and Math, grades 5 and 8 Science (about 1.5% untested);
each high-school student takes each end-of-course (EOC) test once: Algebra I in grade 9
(strong students already in grade 8), Biology in grade 9 or 10, English II in grade 10, with
stragglers in grades 11-12. :func:`choose_eoc` runs every simulated year (including burn-in years)
so nobody takes an EOC twice.

Scores: a test-day latent ``z = 0.8 ability + LEA and school effects - 0.35 ecodis
- 0.85 iep - 0.55 el + noise``. Nothing fixes a group's rate: gaps come out of the model.
Cut points on ``z`` are set so the statewide share at or above Proficient is about 41% ELA
and 40% Math (a small wobble by year); ``z`` is then mapped piecewise-linearly onto the scale
so the published cut scores fall exactly on those points, and the achievement level is read
from the scale score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from site_builder import schema
from site_builder.synth.reference import GRADES, Leas
from site_builder.synth.students import People, YearFrame

SUBJECTS: tuple[str, ...] = tuple(schema.SUBJECTS)
S_ELA, S_MATH, S_SCI, S_ENG2, S_ALG1, S_BIO = range(6)
EOC_INDEX = {S_ENG2: 0, S_ALG1: 1, S_BIO: 2}
PROFICIENT = np.array([0.41, 0.40, 0.37, 0.62, 0.38, 0.46])
"""Target statewide share Proficient or Advanced, by subject."""
ADVANCED = np.array([0.10, 0.12, 0.09, 0.14, 0.10, 0.12])
BELOW_BASIC = np.array([0.17, 0.20, 0.22, 0.10, 0.22, 0.18])
_GRADE = {g: i for i, g in enumerate(GRADES)}


def cut_scores(subject: int, grade: int) -> tuple[int, int, int]:
    """(Basic, Proficient, Advanced) scale-score cuts for a subject and grade index."""
    if subject in (S_ELA, S_MATH, S_SCI):
        g = grade - _GRADE["03"]
        base = {S_ELA: 392, S_MATH: 386, S_SCI: 380}[subject] + 11 * g
        return base, base + 35, base + 80
    base = {S_ENG2: 180, S_ALG1: 175, S_BIO: 177}[subject]
    return base, base + 20, base + 45


@dataclass
class Tests:
    sid: np.ndarray
    dist: np.ndarray
    school: np.ndarray
    grade: np.ndarray
    subject: np.ndarray
    frame_row: np.ndarray   # row in the year's enrollment frame


def lea_effect(leas: Leas, rng: np.random.Generator) -> np.ndarray:
    return (-0.7 * (leas.frl - 0.47) + 0.22 * rng.standard_normal(leas.n)).astype(np.float32)


def school_effect(n_schools: int, rng: np.random.Generator) -> np.ndarray:
    """Buildings within an LEA differ too, less than LEAs do."""
    return (0.12 * rng.standard_normal(n_schools)).astype(np.float32)


def choose_eoc(f: YearFrame, people: People, rng: np.random.Generator) -> Tests:
    """Pick this year's test takers (and mark EOCs as taken)."""
    n = len(f.sid)
    g = f.grade
    u = rng.random((n, 4))
    rows, subj = [], []

    def add(mask: np.ndarray, s: int) -> None:
        r = np.flatnonzero(mask)
        rows.append(r)
        subj.append(np.full(len(r), s, np.int8))

    tested = u[:, 0] > 0.015
    in38 = (g >= _GRADE["03"]) & (g <= _GRADE["08"]) & tested
    add(in38, S_ELA)
    add(in38, S_MATH)
    add(((g == _GRADE["05"]) | (g == _GRADE["08"])) & tested, S_SCI)
    done = people.eoc_done[f.sid]
    ability = people.ability[f.sid]
    hs = g >= _GRADE["09"]
    late = g >= _GRADE["11"]
    alg = ~done[:, 1] & (((g == _GRADE["08"]) & (ability > 1.15))
                         | ((g == _GRADE["09"]) & (u[:, 1] < 0.94))
                         | ((g == _GRADE["10"]) & (u[:, 1] < 0.7)) | (late & (u[:, 1] < 0.5)))
    eng = ~done[:, 0] & (((g == _GRADE["10"]) & (u[:, 2] < 0.95)) | (late & (u[:, 2] < 0.5)))
    bio = ~done[:, 2] & hs & (((g == _GRADE["09"]) & (u[:, 3] < 0.35))
                              | ((g == _GRADE["10"]) & (u[:, 3] < 0.93))
                              | (late & (u[:, 3] < 0.5)))
    add(eng, S_ENG2)
    add(alg, S_ALG1)
    add(bio, S_BIO)
    for mask, j in ((eng, 0), (alg, 1), (bio, 2)):
        people.eoc_done[f.sid[mask], j] = True
    r = np.concatenate(rows)
    s = np.concatenate(subj)
    return Tests(sid=f.sid[r], dist=f.dist[r], school=f.school[r], grade=f.grade[r],
                 subject=s, frame_row=r)


def score(t: Tests, f: YearFrame, people: People, effect: np.ndarray, school: np.ndarray,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Scale scores (int32) and achievement level index (0-3) for each test in ``t``."""
    n = len(t.sid)
    r = t.frame_row
    z = (0.8 * people.ability[t.sid] + effect[t.dist] + school[t.school]
         - 0.35 * f.ecodis[r] - 0.85 * f.iep[r] - 0.55 * f.el[r]
         + 0.55 * rng.standard_normal(n)).astype(np.float64)
    scores = np.zeros(n, np.int32)
    levels = np.zeros(n, np.int8)
    wobble = rng.normal(0.0, 0.004, len(SUBJECTS))
    # Grade-level tests have cuts per grade; an EOC has one set of cuts whatever the grade, so
    # 8th graders taking Algebra I do better than the 11th graders retaking it late.
    eoc = t.subject >= S_ENG2
    key = t.subject.astype(np.int64) * 16 + np.where(eoc, 0, t.grade)
    for k in np.unique(key):          # at most 6 subjects x 10 grades: a handful of groups
        m = key == k
        s, gr = int(k // 16), int(k % 16)
        zs = z[m]
        p = min(max(PROFICIENT[s] + wobble[s], 0.05), 0.95)
        qb, qp, qa = np.quantile(zs, [BELOW_BASIC[s], 1 - p, 1 - ADVANCED[s]])
        sd = float(zs.std()) if len(zs) > 1 else 1.0
        cb, cp, ca = cut_scores(s, gr)
        x = np.interp(zs, [qb - 3 * sd, qb, qp, qa, qa + 3 * sd],
                      [cb - 110, cb, cp, ca, ca + 110])
        # floor: z >= its cut point exactly when the score >= the cut score.
        sc = np.clip(np.floor(x), *schema.SCALE_SCORE_RANGE).astype(np.int32)
        scores[m] = sc
        levels[m] = np.searchsorted(np.array([cb, cp, ca]), sc, side="right")
    return scores, levels
