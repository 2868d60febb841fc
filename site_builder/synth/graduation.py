"""Four-year adjusted cohorts, consistent with the enrollment panel.

The cohort of year Y at an LEA is its grade-12 students of Y plus some of the high-school
students who left public schools with Y as their expected graduation year (the panel records
them as they leave). Each LEA gets a target rate from a model (lower with more poverty, with
noise) spread from about 70% to 98%; the cohort is filled with leavers as dropouts/HSE until the
rate is near target. Grade-12 students who are in grade 12 again the next year are
``continuing``; when leavers alone are too few, the weakest remaining seniors drop out or earn
an HSE. Graduates and dropouts are not enrolled the next year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from site_builder.synth.reference import GRADES, Leas
from site_builder.synth.students import People, YearFrame, rank_within

OUTCOMES = ("graduated", "continuing", "dropped_out", "hse")
_G12 = GRADES.index("12")


@dataclass
class Cohort:
    sid: np.ndarray
    dist: np.ndarray
    school: np.ndarray
    el: np.ndarray
    iep: np.ndarray
    ecodis: np.ndarray
    outcome: np.ndarray   # index into OUTCOMES


def target_rates(leas: Leas, rng: np.random.Generator) -> np.ndarray:
    logit = 2.85 - 3.0 * (leas.frl - 0.47) + 0.4 * rng.standard_normal(leas.n)
    logit = logit - 1.2 * (leas.kind == "special")
    return np.clip(1.0 / (1.0 + np.exp(-logit)), 0.66, 0.99)


def cohort(year: int, f: YearFrame, exits: dict[str, np.ndarray], people: People,
           rate: np.ndarray, repeating: np.ndarray, rng: np.random.Generator) -> Cohort:
    """The cohort of ``year``; ``repeating`` are the grade-12 students enrolled in grade 12
    again the next year (they are the ``continuing`` ones)."""
    d = len(rate)
    g12 = np.flatnonzero(f.grade == _G12)
    gd = f.dist[g12]
    n12 = np.bincount(gd, minlength=d)
    want_non = np.rint(n12 * (1 - rate) / rate).astype(np.int64)

    ex = np.flatnonzero(exits["cohort"] == year) if len(exits["sid"]) else np.zeros(0, int)
    ed = exits["dist"][ex].astype(np.int64)
    take = rank_within(ed, rng.random(len(ex))) < np.rint(0.75 * want_non[ed])
    ex = ex[take]
    ed = ed[take]
    m = np.bincount(ed, minlength=d)

    size = n12 + m
    grads = np.minimum(n12, np.rint(rate * size).astype(np.int64))
    again = np.isin(f.sid[g12], repeating)
    standing = (people.ability[f.sid[g12]] - 0.4 * f.ecodis[g12] - 0.3 * f.iep[g12]
                + 0.8 * rng.standard_normal(len(g12)) - 100.0 * again)
    r = rank_within(gd, -standing)
    graduated = (r < grads[gd]) & ~again
    u = rng.random(len(g12))
    out12 = np.where(graduated, 0, np.where(again, 1, np.where(u < 0.7, 2, 3)))
    out_ex = np.where(rng.random(len(ex)) < 0.85, 2, 3)

    return Cohort(
        sid=np.concatenate([f.sid[g12], exits["sid"][ex]]),
        dist=np.concatenate([gd, ed]).astype(np.int32),
        school=np.concatenate([f.school[g12], exits["school"][ex]]).astype(np.int32),
        el=np.concatenate([f.el[g12], exits["el"][ex]]).astype(bool),
        iep=np.concatenate([f.iep[g12], exits["iep"][ex]]).astype(bool),
        ecodis=np.concatenate([f.ecodis[g12], exits["ecodis"][ex]]).astype(bool),
        outcome=np.concatenate([out12, out_ex]).astype(np.int8),
    )
