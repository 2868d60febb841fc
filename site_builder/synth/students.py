"""The student panel: who is enrolled where, in which grade, each year.

One vectorized step per school year (no Python loop per student or per district):

1. last year's students move up a grade (a small share repeat it); seniors leave;
2. a few percent leave the state or public schools; a few percent move to another LEA in the
   same county (and 8th graders of K-8 districts move on to a high-school district);
3. each (LEA, grade) cell is brought to its target (real DESE enrollment x ``scale``): surplus
   students leave at random, missing ones enter as new students (new kindergartners, or
   move-ins) with a race drawn so the LEA's mix tracks that year's published shares (DESE
   2017-2024; the nearest year outside that range);
4. yearly flags: free/reduced lunch, EL and IEP are the top-k of persistent latent scores
   within each LEA, so each LEA's shares match the published ones while flags stay mostly
   stable for a student and correlate with race and with each other;
5. school (from the LEA's building bands) and attendance.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from site_builder.synth import names
from site_builder.synth.directory import Directory
from site_builder.synth.reference import GRADES, N_GRADES, Leas

G_PK, G_K, G_08, G_09, G_12 = (GRADES.index(g) for g in ("PK", "K", "08", "09", "12"))
REPEAT = np.array([0.0, 0.015, 0.012, 0.01, 0.008, 0.006, 0.005, 0.005, 0.005, 0.005,
                   0.04, 0.025, 0.02, 0.03])
"""Share repeating each grade (PK students all move on to K)."""
YEAR_ABSENCE = {2019: -0.3, 2020: -0.15, 2021: 0.15, 2022: 0.2, 2023: 0.05}
"""Shift of the absence log-odds by year (default 0): chronic absence rose after 2020 and has
been falling since 2022 (DESE: 76.6% 90/90 in 2023, 21.8% chronically absent in 2024)."""
LEAVE_RATE = 0.03
MOVE_RATE = 0.03
# Race order: AM AS BL HI MU PI WH
RACE_ECO = np.array([0.35, -0.1, 0.75, 0.55, 0.3, 0.35, 0.0])
RACE_EL = np.array([0.5, 2.3, 0.6, 2.4, 0.1, 2.0, -0.4])
RACE_ABILITY = np.array([-0.1, 0.3, -0.3, -0.12, 0.0, -0.1, 0.05])


class People:
    """Persistent per-student attributes, indexed by a student number; grows as students enter."""

    FIELDS = ("male", "race", "birth", "first", "last", "ssn", "ability", "z_eco", "z_el",
              "z_iep", "z_att", "u_school", "eoc_done")

    def __init__(self, capacity: int, ssn_salt: int = 0) -> None:
        self.n = 0
        self.ssn_salt = ssn_salt
        self.male = np.zeros(capacity, bool)
        self.race = np.zeros(capacity, np.int8)
        self.birth = np.zeros(capacity, np.int32)   # days since 1970-01-01
        self.first = np.zeros(capacity, np.int32)
        self.last = np.zeros(capacity, np.int32)
        self.ssn = np.zeros(capacity, np.int64)
        self.ability = np.zeros(capacity, np.float32)
        self.z_eco = np.zeros(capacity, np.float32)
        self.z_el = np.zeros(capacity, np.float32)
        self.z_iep = np.zeros(capacity, np.float32)
        self.z_att = np.zeros(capacity, np.float32)
        self.u_school = np.zeros(capacity, np.float32)
        self.eoc_done = np.zeros((capacity, 3), bool)  # English II, Algebra I, Biology

    def _grow(self, need: int) -> None:
        cap = len(self.male)
        if need <= cap:
            return
        new = max(need, int(cap * 1.5) + 1024)
        for f in self.FIELDS:
            a = getattr(self, f)
            b = np.zeros((new, *a.shape[1:]), a.dtype)
            b[: self.n] = a[: self.n]
            setattr(self, f, b)

    def add(self, rng: np.random.Generator, race: np.ndarray, grade: np.ndarray,
            year: int) -> np.ndarray:
        """Create students entering ``grade`` in school year ``year``; returns their numbers."""
        k = len(race)
        self._grow(self.n + k)
        idx = np.arange(self.n, self.n + k)
        self.n += k
        male = rng.random(k) < 0.513
        self.male[idx] = male
        self.race[idx] = race
        # On-time: age 5 on Aug 1 of the fall the student started K.
        k_fall = year - 1 - (grade.astype(np.int64) - G_K)
        start = (np.datetime64("1970-01-01") + 0).astype("datetime64[D]")
        born_from = (np.array([f"{y - 6}-08-02" for y in range(1990, 2040)], "datetime64[D]")
                     - start).astype(np.int64)
        base = born_from[np.clip(k_fall - 1990, 0, 49)]
        late = (rng.random(k) < 0.06).astype(np.int64) * 365   # some start K a year late
        self.birth[idx] = base + rng.integers(0, 365, k) - late
        self.first[idx] = names.draw_first(rng, male, race)
        self.last[idx] = names.draw_last(rng, race)
        self.ssn[idx] = names.draw_ssn(rng, idx, self.ssn_salt)
        z_eco = rng.standard_normal(k) + RACE_ECO[race]
        self.z_eco[idx] = z_eco
        self.ability[idx] = (rng.standard_normal(k) * 0.9 - 0.12 * (z_eco - 0.2)
                             + RACE_ABILITY[race])
        self.z_el[idx] = rng.standard_normal(k) + RACE_EL[race]
        self.z_iep[idx] = rng.standard_normal(k) + 0.45 * male - 0.2 * self.ability[idx]
        self.z_att[idx] = rng.standard_normal(k) + 0.25 * (z_eco - 0.2)
        # Which of the LEA's buildings: a uniform draw tied to the poverty latent, so buildings
        # in one LEA differ in poverty and race mix (as real attendance zones do).
        mix = 0.6 * (z_eco - 0.2) / 1.05 + 0.8 * rng.standard_normal(k)
        self.u_school[idx] = ndtr(mix)
        # Entering above the usual EOC grade: the EOC was taken before (elsewhere).
        self.eoc_done[idx, 0] = grade >= G_12 - 1                      # English II
        self.eoc_done[idx, 1] = grade >= G_09 + 1                      # Algebra I
        self.eoc_done[idx, 2] = grade >= G_09 + 2                      # Biology
        return idx


@dataclass
class YearFrame:
    """One school year of enrollment, as parallel arrays (one element per student)."""

    year: int
    sid: np.ndarray
    dist: np.ndarray
    grade: np.ndarray
    school: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    el: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    iep: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    ecodis: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    days_enrolled: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    days_attended: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    partial: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


@dataclass
class Exits:
    """High-school students who left public schools (candidates for dropout outcomes)."""

    sid: list[np.ndarray] = field(default_factory=list)
    cohort: list[np.ndarray] = field(default_factory=list)   # expected graduation year
    dist: list[np.ndarray] = field(default_factory=list)
    school: list[np.ndarray] = field(default_factory=list)
    el: list[np.ndarray] = field(default_factory=list)
    iep: list[np.ndarray] = field(default_factory=list)
    ecodis: list[np.ndarray] = field(default_factory=list)

    def record(self, prev: YearFrame, mask: np.ndarray) -> None:
        m = mask & (prev.grade >= G_09) & (prev.grade < G_12)
        self.sid.append(prev.sid[m])
        self.cohort.append(prev.year + (G_12 - prev.grade[m]).astype(np.int32))
        self.dist.append(prev.dist[m])
        self.school.append(prev.school[m])
        self.el.append(prev.el[m])
        self.iep.append(prev.iep[m])
        self.ecodis.append(prev.ecodis[m])

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(getattr(self, k)) if getattr(self, k) else np.zeros(0, int)
                for k in ("sid", "cohort", "dist", "school", "el", "iep", "ecodis")}


def rank_within(group: np.ndarray, score: np.ndarray) -> np.ndarray:
    """0-based rank of each element's ``score`` (ascending) within its ``group``.

    One float sort instead of a lexsort: ``group + squash(score)`` keeps the group order and,
    inside a group, the score order (``squash`` maps scores monotonically into [0, 0.999]).
    """
    n = len(group)
    if n == 0:
        return np.zeros(0, np.int64)
    s = score.astype(np.float64)
    lo, hi = s.min(), s.max()
    squash = (s - lo) / (hi - lo) * 0.999 if hi > lo else np.zeros(n)
    order = np.argsort(group.astype(np.float64) + squash)
    counts = np.bincount(group)
    first = np.cumsum(counts) - counts
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n) - first[group[order]]
    return rank


def targets(leas: Leas, year: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """(D, 14) head counts: K-12 total = round(real x scale), split by grade shares."""
    total = np.rint(leas.enrollment_for(year) * scale).astype(np.int64)
    share = leas.grade_share
    k12 = share[:, 1:]
    raw = total[:, None] * k12
    base = np.floor(raw).astype(np.int64)
    short = total - base.sum(axis=1)
    frac = raw - base + rng.random(raw.shape) * 1e-6
    order = np.argsort(-frac, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(k12.shape[1])[None, :].repeat(len(total), 0), 1)
    base += (ranks < short[:, None]) & (k12 > 0)
    pk = np.rint(total * share[:, 0]).astype(np.int64)
    return np.column_stack([pk, base])


class Panel:
    """Runs the yearly steps; ``run`` yields a complete :class:`YearFrame` per year."""

    def __init__(self, leas: Leas, directory: Directory, scale: float,
                 rng: np.random.Generator) -> None:
        self.leas = leas
        self.dirx = directory
        self.scale = scale
        self.rng = rng
        d = leas.n
        est = int(leas.enrollment_for(2024).sum() * scale * 1.25) + 1000
        self.people = People(est, ssn_salt=int(rng.integers(0, names.SSN_SPAN)))
        self.exits = Exits()
        self.sh = leas.shares_for(2024)
        self.calendar = rng.integers(162, 177, d).astype(np.int32)
        self.dist_att = (rng.standard_normal(d) * 0.25 + 0.6 * (leas.frl - 0.47)).astype(np.float32)
        # Mover destinations: same county, weighted by size.
        county = np.unique(leas.county_code, return_inverse=True)[1]
        self.county = county
        order = np.lexsort((np.arange(d), county))
        w = np.maximum(leas.enrollment_for(2024)[order], 1.0)
        self._cum = np.cumsum(w)
        self._order = order
        first = np.searchsorted(county[order], np.arange(county.max() + 1), side="left")
        last = np.searchsorted(county[order], np.arange(county.max() + 1), side="right")
        self._c_lo = np.where(first > 0, self._cum[np.maximum(first - 1, 0)], 0.0)
        self._c_lo[first == 0] = 0.0
        self._c_hi = self._cum[last - 1]

    def _destination(self, dist: np.ndarray) -> np.ndarray:
        c = self.county[dist]
        pos = self._c_lo[c] + self.rng.random(len(dist)) * (self._c_hi[c] - self._c_lo[c])
        j = np.minimum(np.searchsorted(self._cum, pos, side="right"), len(self._cum) - 1)
        return self._order[j].astype(dist.dtype)

    def run(self, years: list[int]) -> Iterator[YearFrame]:
        prev: YearFrame | None = None
        for y in years:
            frame = self._step(prev, y)
            yield frame
            prev = frame

    def _step(self, prev: YearFrame | None, year: int) -> YearFrame:
        rng, leas = self.rng, self.leas
        self.sh = leas.shares_for(year)   # this year's published mix
        d = leas.n
        t = targets(leas, year, self.scale, rng)
        if prev is None:
            sid = np.zeros(0, np.int64)
            dist = np.zeros(0, np.int32)
            grade = np.zeros(0, np.int8)
            moved = np.zeros(0, bool)
        else:
            n = len(prev.sid)
            repeat = rng.random(n) < REPEAT[prev.grade]
            grade = (prev.grade + (~repeat)).astype(np.int8)
            stay = grade <= G_12
            leave = rng.random(n) < LEAVE_RATE
            dist = prev.dist.copy()
            move = rng.random(n) < MOVE_RATE
            grade_c = np.minimum(grade, G_12)
            unserved = t[dist, grade_c] == 0
            move |= unserved
            dest = self._destination(dist[move])
            # A voluntary move goes ahead with probability share(dest)/share(origin) of the
            # student's race (capped at 1): moves then keep each LEA's mix in balance.
            race = self.people.race[prev.sid[move]]
            share = self.sh.race
            ratio = share[dest, race] / np.maximum(share[dist[move], race], 1e-9)
            go = unserved[move] | (rng.random(len(dest)) < ratio)
            move[np.flatnonzero(move)[~go]] = False
            dist[move] = dest[go]
            lost = t[dist, grade_c] == 0
            keep = stay & ~leave & ~lost
            self.exits.record(prev, (~keep) & stay)
            moved = (move & (prev.dist != dist))[keep]
            sid, dist, grade = prev.sid[keep], dist[keep], grade[keep]
            # Bring each (LEA, grade) cell down to its target.
            cell = dist.astype(np.int64) * N_GRADES + grade
            # Surplus leaves at random, but over-represented races leave first, so each LEA's
            # mix stays near its published shares despite moves between LEAs.
            over = self._race_excess(dist, sid, t.sum(axis=1))
            r = rank_within(cell, rng.random(len(cell)) + 25.0 * over[dist, self.people.race[sid]])
            ok = r < t.reshape(-1)[cell]
            gone = np.zeros(n, bool)
            gone[np.flatnonzero(keep)[~ok]] = True
            self.exits.record(prev, gone)
            sid, dist, grade, moved = sid[ok], dist[ok], grade[ok], moved[ok]
            # Families also move away for their own reasons: where a race is over-represented
            # by more than 1% of the LEA (or half a student), that many more leave, and
            # their places go to newcomers below. This keeps small LEAs on their published mix.
            # (K-12 only: the published shares are K-12 shares.)
            race = self.people.race[sid].astype(np.int64)
            total = t[:, 1:].sum(axis=1)
            k12 = grade > G_PK
            group = np.where(k12, dist.astype(np.int64) * 7 + race, d * 7)
            have = np.bincount(group, minlength=d * 7 + 1)[:-1].reshape(d, 7)
            excess = have - self.sh.race * total[:, None]
            tol = np.maximum(0.5, 0.01 * total)[:, None]
            extra = np.append(np.ceil(np.maximum(excess - tol, 0.0)).astype(np.int64), 0)
            stay2 = rank_within(group, rng.random(len(group))) >= extra.reshape(-1)[group]
            gone = np.zeros(n, bool)
            gone[np.flatnonzero(keep)[ok][~stay2]] = True
            self.exits.record(prev, gone)
            sid, dist, grade, moved = sid[stay2], dist[stay2], grade[stay2], moved[stay2]
        # Fill each cell up to its target with new students.
        cell = dist.astype(np.int64) * N_GRADES + grade
        have = np.bincount(cell, minlength=d * N_GRADES)
        need = np.maximum(t.reshape(-1) - have, 0)
        new_cell = np.repeat(np.arange(d * N_GRADES), need)
        new_dist = (new_cell // N_GRADES).astype(np.int32)
        new_grade = (new_cell % N_GRADES).astype(np.int8)
        race = np.empty(len(new_dist), np.int8)
        pk = new_grade == G_PK
        k12_now = grade > G_PK
        race[~pk] = self._new_races(dist[k12_now], sid[k12_now], new_dist[~pk],
                                    t[:, 1:].sum(axis=1))
        race[pk] = self._new_races(dist[:0], sid[:0], new_dist[pk], t[:, 0])
        new_sid = self.people.add(rng, race, new_grade, year)
        partial_new = (new_grade > G_K) & (prev is not None)
        sid = np.concatenate([sid, new_sid])
        dist = np.concatenate([dist, new_dist])
        grade = np.concatenate([grade, new_grade])
        partial = np.concatenate([moved, partial_new if prev is not None
                                  else np.zeros(len(new_sid), bool)])
        order = np.argsort(sid, kind="stable")
        f = YearFrame(year=year, sid=sid[order], dist=dist[order], grade=grade[order],
                      partial=partial[order])
        self._flags(f)
        self._school(f)
        self._attendance(f)
        return f

    def _race_excess(self, dist: np.ndarray, sid: np.ndarray, total: np.ndarray) -> np.ndarray:
        """(D, 7): share of each race now minus its published share, per LEA."""
        d = self.leas.n
        have = np.bincount(dist.astype(np.int64) * 7 + self.people.race[sid],
                           minlength=d * 7).reshape(d, 7)
        return have / np.maximum(have.sum(axis=1, keepdims=True), 1) - self.sh.race

    def _new_races(self, dist: np.ndarray, sid: np.ndarray, new_dist: np.ndarray,
                   total: np.ndarray) -> np.ndarray:
        """Races for new students (``new_dist`` sorted): each LEA's newcomers fill the gaps
        between its current mix and its published shares, split by largest remainder (no
        sampling noise), then shuffled among that LEA's newcomers."""
        d = self.leas.n
        have = np.bincount(dist.astype(np.int64) * 7 + self.people.race[sid],
                           minlength=d * 7).reshape(d, 7)
        want = self.sh.race * total[:, None]
        gap = np.maximum(want - have, 0.0) + 1e-6 * self.sh.race
        n_new = np.bincount(new_dist, minlength=d)
        raw = gap / gap.sum(axis=1, keepdims=True) * n_new[:, None]
        alloc = np.floor(raw).astype(np.int64)
        short = n_new - alloc.sum(axis=1)
        frac = raw - alloc + self.rng.random(raw.shape) * 1e-9
        order = np.argsort(-frac, axis=1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.broadcast_to(np.arange(7), raw.shape).copy(), 1)
        alloc += ranks < short[:, None]
        race_sorted = np.repeat(np.tile(np.arange(7, dtype=np.int8), d), alloc.reshape(-1))
        shuffle = np.lexsort((self.rng.random(len(new_dist)), new_dist))
        race = np.empty(len(new_dist), np.int8)
        race[shuffle] = race_sorted
        return race

    def _flags(self, f: YearFrame) -> None:
        rng, p, leas = self.rng, self.people, self.leas
        n = len(f.sid)
        # Ranked separately for PK and K-12, so the K-12 shares (what DESE publishes) match.
        group = f.dist.astype(np.int64) * 2 + (f.grade == G_PK)
        size = np.bincount(group, minlength=leas.n * 2)

        def top(score: np.ndarray, rate: np.ndarray) -> np.ndarray:
            k = np.rint(np.repeat(rate, 2) * size).astype(np.int64)
            return rank_within(group, -score) < k[group]

        f.ecodis = top(p.z_eco[f.sid] + 0.35 * rng.standard_normal(n), self.sh.frl)
        f.el = top(p.z_el[f.sid] - 0.12 * f.grade + 0.2 * rng.standard_normal(n), self.sh.el)
        f.iep = top(p.z_iep[f.sid] + 0.15 * rng.standard_normal(n), self.sh.iep)

    def _school(self, f: YearFrame) -> None:
        start = self.dirx.band_start[f.dist, f.grade]
        count = self.dirx.band_count[f.dist, f.grade]
        if (start < 0).any():
            raise AssertionError("a student was placed in a grade their LEA does not serve")
        u = self.people.u_school[f.sid]
        f.school = (start + np.minimum((u * count).astype(np.int32), count - 1)).astype(np.int32)

    def _attendance(self, f: YearFrame) -> None:
        rng, p = self.rng, self.people
        n = len(f.sid)
        cal = self.calendar[f.dist]
        frac = np.where(f.partial, rng.uniform(0.2, 1.0, n), 1.0)
        days = np.maximum(1, np.rint(cal * frac)).astype(np.int32)
        hs = (f.grade >= G_09).astype(np.float32)
        logit = (-3.16 + YEAR_ABSENCE.get(f.year, 0.0)
                 + 0.62 * p.z_att[f.sid] + 0.35 * f.ecodis + 0.3 * f.iep
                 + self.dist_att[f.dist] + 0.3 * hs + 0.12 * (f.grade == G_K)
                 + 0.3 * rng.standard_normal(n))
        rate = 1.0 / (1.0 + np.exp(-logit))
        absent = rng.binomial(days, rate)
        f.days_enrolled = days
        f.days_attended = (days - absent).astype(np.int32)
