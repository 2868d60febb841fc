"""Protect the whole set of tables as one system: primary suppression, coding of extreme
rates, complementary suppression, then an LP audit of the result, fixing what it finds.

The unit of decision is a *variable* (one distinct number, see :mod:`relations`):

* a head count / denominator (``DENOMINATOR_KEY``): withheld in every row it appears in;
  all rates over a withheld denominator are withheld too;
* a numerator (``KEY`` of a rate row): withheld alone (its row shows the symbol and blanks
  its n_students; the denominator stays published in the rows that show it) or coded.

Complementary suppression is greedy and vectorized over every relation at once: a relation
with exactly one withheld member, or whose withheld head-count parts add up to 1..29, or
whose withheld numerators are all pinned at 0, gets one more withheld member, the cheapest:
never a zero count, a numerator before a count, All-students rows last, then the one that
starts the fewest new needs (relations of it with nothing withheld yet) less the needs it
meets, then the smallest value, ties by key, and never one of the state's own All-students
numbers unless nothing else can be (nor a district's or school's own total enrollment, unless
nothing else can be or the value it would protect has waited a round for it). A district's
withheld share of a state total gets its partner wherever in the state it is cheapest: the
audit's partner districts prove such a pair across *proof regions* (neighbouring counties'
districts, :mod:`regions`). This runs to a fixpoint. Then *hypercubes* (:mod:`cubes`): each
withheld value that no cube of withheld values proves wide enough gets the cheapest cube that
does, its published corners withheld. Then the independent LP audit checks the result,
region by region (given the cubes as witnesses, so that it checks those proofs instead of
searching for them), and each value it can narrow too far, or cannot prove wide enough, gets
its cheapest cube, or else one more complement in its region; a value failing again gets the
cheapest complements that let it move within its district or region, found by an LP over
their values (:meth:`_State.freeing`). This repeats until the audit passes; after the first
round the audit proves only what was withheld since and what failed (what it proved stays
proven: more withheld only removes constraints). Years are protected apart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import highspy
import numpy as np
import polars as pl
from scipy.sparse import coo_matrix

from site_builder.cells import KEY, PUBLISHED_EXTRA, RAW_SCHEMA
from site_builder.disclosure import audit as _audit
from site_builder.disclosure.cubes import cube_complements, cube_witnesses
from site_builder.disclosure.policy import Policy
from site_builder.disclosure.relations import System, build_system, with_population
from site_builder.disclosure.sorting import lex_order
from site_builder.errors import ReportcardError
from site_builder.parallel import pool

log = logging.getLogger(__name__)

NONE, PRIMARY, COMPLEMENTARY, TOP, BOTTOM = range(5)
REASON_NAMES = ("", "primary", "complementary", "top_coded", "bottom_coded")
MAX_AUDIT_ROUNDS = 50
BYTES_PER_CELL = 7_700
"""About the most memory a process protecting one year takes, per raw cell of the year (full
state: 483,000-487,000 cells a year, up to 3.70 GB a process; session 58). Years are
protected at once in as many processes as the memory holds (:func:`parallel.pool`)."""
BIG = 1.0e9
MAX_NARROW_ROUNDS = 200
STUBBORN_ROUNDS = 4
CUBE_ROUNDS = 4
"""Rounds of hypercube complements before the audit (see :mod:`cubes`)."""
CUBE_MIN_GAIN = 0.01
"""A round of cube complements that withholds at most this share of the values it was for
is the last (on the full state the third and fourth rounds withheld 22 and 0 cells for
39,000 values, 25 s each)."""
CUBE_LIMIT = 3_000_000
"""Years with more withheld values than this use no cubes. A full-state year has about
940,000: its first cube search takes about 140 s and its cube rounds about 300 s, under 5 GB
(before session 17, 900 s, and out of memory choosing complements; see
benchmarks/README.md, "session 17")."""
GLOBAL_STRIKES = 3
"""A value failing this many audit rounds gets its complements in any region, not only its
own (its proof then needs moves between regions: the full audit's trades and pairs)."""
STATE_PRICE = 1000.0
"""The price, in :meth:`_State.freeing`'s last LP, of one of the state's own values as a
complement: above any set of district and school values a region could offer instead."""
EXACT_WHEN_STALLED = 400
"""After a round that stalled (see :func:`stalled`), the next round's audit solves a large
group exactly for up to this many values left in it (on the full state: a few minutes for
the group's first LP, then seconds a value)."""
UNFREED_ROUNDS = 2
"""A value left unproven again that nothing in its region frees (:meth:`_State.freeing`) in
this many rounds gets an exact round next: what fails it may be the regional proofs, not the
pattern. (Full state 2025, session 58: the same 20 ELA and Math tested counts, beside 1-20
others, were unproven from round 3 and freed by nothing from then on; the exact round came
only when they had failed 2 * STUBBORN_ROUNDS rounds, at round 9, and proved them all with
nothing more withheld. Rounds 5-8, about 300 s beside other work, went by for nothing. The
rule also gave 2023 an exact round at round 4, for 12 values of a group of 294,917 columns,
and there one LP crawled in HiGHS's dual simplex for many minutes, which made 2023 the
last year done and the publish 6 minutes longer, so session 59 took the rule out; with that
LP mended (see ``audit._prove_large``'s ``whole_group``) the round took 98.7 s, proved 10
of the 12 and showed 2 exactly, and 2023 was done in 351.8 s: benchmarks/README.md,
"session 59".)"""
FEW_FAILURES = 5
"""A round that fails this many values or fewer logs each of them in full."""
STALL_SHARE = 0.95
"""A round has stalled when at least this share of the values it failed failed in the round
before too, and it failed at least this share as many. (Full state 2024, session 23: rounds
5-16 each failed 319-369 values, nearly all the same ones, and withheld 70-100 more values
a round for them; when the sets had to be identical, the exact LPs came 10 rounds late.)"""


def _csr(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The positions of ``keys`` (ids 0..n-1) grouped by key, and each key's offsets there."""
    order = np.argsort(keys, kind="stable")
    return order, np.searchsorted(keys[order], np.arange(n + 1))


def _members(csr: tuple[np.ndarray, np.ndarray], ids: np.ndarray,
             ) -> tuple[np.ndarray, np.ndarray]:
    """The positions of keys ``ids`` in a :func:`_csr`, key by key, and how many each has."""
    order, ptr = csr
    k = ptr[ids + 1] - ptr[ids]
    return order[_audit._gather(ptr[ids], k)], k


def _sums(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The sums of ``x``'s consecutive pieces of ``lengths`` (each at least 1)."""
    return np.add.reduceat(x, np.cumsum(lengths) - lengths) if len(lengths) else lengths


def stalled(before: np.ndarray | None, failed: np.ndarray) -> bool:
    """Whether the values failing now (``failed``, sorted) are, nearly all, the ones that
    failed in the round before (``before``): complements near them have stopped helping."""
    if before is None or not len(failed):
        return False
    again = np.isin(failed, before).mean()
    return bool(again >= STALL_SHARE and len(failed) >= STALL_SHARE * len(before))


class ProtectionError(ReportcardError):
    """The tables could not be protected (the audit still fails after every fix)."""


class ProtectionBug(ProtectionError):
    """protect() made a pattern its own audit finds untrue: a defect, not a decision."""


class _State:
    """Arrays over variables and relation edges, mutated by the suppression rounds."""

    def __init__(self, cells: pl.DataFrame, system: System, policy: Policy) -> None:
        self.system = system
        self.policy = policy
        v = system.vars
        nv = v.height
        self.is_den = v["is_den"].to_numpy()
        self.den_id = v["den_id"].to_numpy()
        value = np.zeros(nv, np.int64)
        value[system.den_of_row.to_numpy()] = cells["n_students"].to_numpy()
        num = system.num_of_row.to_numpy()
        rate_rows = ~np.isnan(num.astype(float)) if num.dtype.kind == "f" else num >= 0
        num_idx = system.num_of_row.drop_nulls().to_numpy()
        value[num_idx] = cells.filter(system.num_of_row.is_not_null())["n_meeting"].to_numpy()
        del rate_rows
        self.value = value
        self.dval = value[self.den_id]
        # Complements: never a zero; never a numerator of an empty group.
        self._eligible = np.where(self.is_den, value > 0, self.dval > 0)
        all_students = (v["student_group"] == policy.all_students.student_group).to_numpy()
        self.allg = allg = all_students & (v["grade"] == policy.grade_partition.total).to_numpy()
        # The state's own All-students numbers: a complement is one of them only where
        # nothing else can be (``keep_ok``, see :attr:`eligible`), and one of all grades
        # only where not even a grade's can be (``headline``: the state's enrolment and
        # rates that head every page; a grade's can be withheld beside another grade's,
        # the total kept; ``headline_ok``: a small state whose count is one district's
        # can need it).
        self.keep = all_students & (v["level"] == "state").to_numpy()
        self.headline = self.keep & allg
        self.keep_ok = False
        self.headline_ok = False
        # A district's and a school's own total enrollment (the first fact on its page): a
        # complement only where nothing else near the need can be (``head_ok``), a
        # district's after its schools'.
        counted = [f"d:{policy.populations[t]}" for t in policy.count_topics]
        total = allg & self.is_den & v["series"].is_in(counted).to_numpy()
        level = v["level"].to_numpy()
        self.head = (total & (level == "school")) + 2 * (total & (level == "district"))
        self.head_ok = False
        # Cost order: a numerator before a denominator (withholding a denominator withholds
        # its whole unit: the count and every rate over it), All-students/all-grades rows
        # last, and of those a school's then a district's total enrollment, then by value,
        # ties by key (var_id).
        self.rank = np.empty(nv, np.int64)
        self.rank[np.lexsort((np.arange(nv), value, allg, self.head, self.is_den))] = \
            np.arange(nv)
        self.cost_class = 2 * self.is_den.astype(np.int64) + allg + self.head

        e = system.edges
        self.e_rel = e["rel_id"].to_numpy()
        self.e_var = e["var_id"].to_numpy()
        self.e_tot = e["is_total"].to_numpy()
        self.n_rel = int(self.e_rel.max()) + 1 if len(self.e_rel) else 0
        self.rel_count = np.zeros(self.n_rel, bool)
        self.rel_count[self.e_rel] = e["is_count"].to_numpy()
        self.rel_total = np.zeros(self.n_rel, np.int64)
        self.rel_total[self.e_rel[self.e_tot]] = self.e_var[self.e_tot]
        # Proof regions (see :mod:`regions`): a value the audit's regional proofs leave
        # unproven gets its complements in its own region. Each (state relation, region) is
        # a *regional* relation over those parts, numbered after the real ones; its total
        # (the region's share) is known in the region's proof, as if published.
        self.region = system.regions
        self.is_state = level == "state"
        self.district = system.districts
        # A district's narrow value may wait a round for its schools' (see narrow()): each
        # value's level, and its district and subject as one number.
        self.is_school = level == "school"
        self.is_district = level == "district"
        subject = v["subject"].fill_null("").rank("dense").to_numpy().astype(np.int64)
        self.district_subject = self.district * (int(subject.max()) + 1 if nv else 1) + subject
        self.waited = np.zeros(nv, bool)  # narrow values that have waited their round
        state_part = (e["rel_type"] == "districts in state").to_numpy() & ~self.e_tot
        pairs = self.e_rel[state_part].astype(np.int64) * (int(self.region.max()) + 1) \
            + self.region[self.e_var[state_part]]
        uniq, r_id = np.unique(pairs, return_inverse=True)
        self._reg_keys = uniq
        self.is_state_rel = np.zeros(self.n_rel, bool)
        self.is_state_rel[self.e_rel[state_part]] = True
        self.n_reg_rel = len(uniq)
        self.anywhere = np.zeros(nv, bool)  # values whose complements may be in any region
        self.r_rel = self.n_rel + r_id
        self.r_var = self.e_var[state_part]
        # Every relation a complement can meet a need in: real ones, then regional ones.
        self.g_rel = np.concatenate([self.e_rel, self.r_rel])
        self.g_var = np.concatenate([self.e_var, self.r_var])
        # The same edges by variable and by relation: a candidate's relations, or a
        # relation's members, without a pass over every edge.
        self.by_var = _csr(self.g_var, nv)
        self.by_rel = _csr(self.g_rel, self.n_rel + self.n_reg_rel)
        # Each edge's value as a withheld part of its relation (a total's: none).
        self._part_value = np.r_[np.where(self.e_tot, 0, value[self.e_var]),
                                 np.zeros(len(self.r_var), np.int64)].astype(float)
        self._per_rel: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.reason = np.zeros(nv, np.int8)
        # Rate rows that show n_students when published or coded; count rows always do.
        self.den_has_count_row = np.zeros(nv, bool)
        cnt = system.num_of_row.is_null().to_numpy()
        self.den_has_count_row[system.den_of_row.to_numpy()[cnt]] = True
        # Head counts a kept year shows even where every rate over them is withheld (see
        # withhold_as_before and show_pinned); none in a fresh pattern.
        self.show_known = np.zeros(nv, bool)
        self.natural: np.ndarray | None = None  # set in a kept year (withhold_as_before)
        self.told = np.zeros(nv, bool)  # a kept year's: its change tells a small group
        self.before: np.ndarray | None = None  # a kept year's: the earlier numbers

    @property
    def hidden(self) -> np.ndarray:
        return self.reason != NONE

    @property
    def eligible(self) -> np.ndarray:
        """Published values a complement may be: not a zero, not a district's or school's
        total enrollment unless ``head_ok``, and not one of the state's All-students
        numbers unless ``keep_ok`` (which allows both), those of all grades (``headline``)
        only when ``headline_ok`` too."""
        return self.eligible_at(self._tier)

    def eligible_at(self, tier: int) -> np.ndarray:
        """Values a complement may be at a tier of last resort: 0, neither a total
        enrollment nor the state's All-students numbers; 1, total enrollments too; 2, the
        state's All-students numbers of a grade too; 3, those of all grades too
        (``headline``). Never a zero."""
        if tier >= 3:
            return self._eligible
        if tier == 2:
            return self._eligible & ~self.headline
        out = self._eligible & ~self.keep
        return out if tier == 1 else out & (self.head == 0)

    def primary_and_coding(self) -> None:
        m = self.policy.min_cell_size
        r = self.reason
        r[self.is_den & (self.value >= 1) & (self.value < m)] = PRIMARY
        nums = ~self.is_den
        r[nums & (r[self.den_id] == PRIMARY)] = PRIMARY
        bands = sorted(self.policy.coding_bands, key=lambda b: b.min_n)
        starts = np.array([b.min_n for b in bands])
        bi = np.clip(np.searchsorted(starts, self.dval, side="right") - 1, 0, len(bands) - 1)
        bottom = np.array([b.bottom for b in bands])[bi]
        top = np.array([b.top for b in bands])[bi]
        self.bottom, self.top = bottom.astype(float), top.astype(float)
        codable = nums & (self.dval >= m) & (r == NONE)
        r[codable & (100 * self.value >= top * self.dval)] = TOP
        r[codable & (100 * self.value <= bottom * self.dval)] = BOTTOM

    def withhold_as_before(self, withheld: np.ndarray, coded: np.ndarray,
                           known: np.ndarray, told: np.ndarray,
                           before: np.ndarray) -> None:
        """Withhold, as complements, the values an earlier release withheld or coded that
        would be published in full now (see :func:`keep_pattern`). Not a zero count, nor a
        numerator of an empty group: a complement never is (what ``complementary`` says of
        a value, the audit holds it to), so the data changed; nor is a value coded now
        published again: its band is its protection now. A value the earlier release
        published (``known``, still true) is no complement: whoever kept it knows it. Nor
        is such a head count withheld because every rate over it is: that would hide
        nothing from whoever kept it, and the numbers beside it that the earlier release
        published, no complements either, would pin it in this release (a year's results
        revised after it was published: a district's tested count of 133, published before
        as its two schools' 43 and 90 were, withheld with its changed levels and then
        exactly disclosed by them). The rows of its withheld rates show it instead
        (:func:`render`, ``shown``).

        ``told``: the values the earlier release published that have since changed by fewer
        students than a group may have (:func:`releases.told_by_change`): published again,
        the change would tell that group. They are withheld as complements too, and never
        published by :meth:`show_pinned` (a zero, never a complement, stays published:
        compute then stops, in :func:`incremental.keep_live`). ``before``: the head counts
        and numerators the earlier release published (NaN where it did not): a relation
        whose parts' unpublished changes add up to a small group needs more withheld
        (:meth:`_change_needs`)."""
        r = self.reason
        self.natural = r.copy()  # what primary suppression and coding alone would show
        r[(withheld | coded | told) & (r == NONE) & self._eligible] = COMPLEMENTARY
        self.told = told
        self.before = before
        self._eligible = self._eligible & ~known
        self.show_known = known & self.is_den

    def show_pinned(self, failures: list[_audit.Failure]) -> np.ndarray:
        """In a kept year, publish the complements an exact LP shows pinned to one value
        when nothing left can be withheld for them (every number that pins them is one the
        earlier release published and is still true). Withheld, such a value hides nothing:
        whoever kept that release works it out; published, it adds nothing either (every
        solution already has it). A revised year does this: a school closed in the
        correction, its pupils now another school's, whose counts the live site withheld
        as complements of the closed school's; today they are their district's less the
        schools the live site published. Not a value primary suppression or coding would
        withhold (that is a disclosure, and stays one), nor a numerator whose denominator
        stays withheld. Returns the values published (never withheld again)."""
        assert self.natural is not None, "a kept year's only"
        v = np.array(sorted({f.var_id for f in failures
                             if f.kind == "exact" and f.var_id is not None}), np.int64)
        v = v[(self.reason[v] == COMPLEMENTARY) & (self.natural[v] == NONE) & ~self.told[v]]
        dens = v[self.is_den[v]]
        self.reason[dens] = NONE
        self.show_known[dens] = True  # shown on the rows of its rates still withheld
        # Its numerators that coding shows as a band are withheld only as its own were
        # (propagate): a withheld numerator over a published denominator says its rate is
        # not extreme, so they are shown as their bands again (and audited as such).
        over = np.flatnonzero(~self.is_den & np.isin(self.den_id, dens)
                              & (self.reason == COMPLEMENTARY) & (self.natural >= TOP))
        self.reason[over] = self.natural[over]
        nums = v[~self.is_den[v]]
        nums = nums[self.reason[self.den_id[nums]] == NONE]
        self.reason[nums] = NONE
        shown = np.concatenate([dens, nums])
        self._eligible[shown] = False
        return shown

    def hide(self, idx: np.ndarray) -> int:
        """Withhold ``idx`` as complements; returns how many were published."""
        idx = np.unique(idx[self.reason[idx] == NONE])
        self.reason[idx] = COMPLEMENTARY
        return len(idx)

    def hide_units(self, nums: np.ndarray) -> int:
        """Withhold the whole unit of each numerator of ``nums`` (its denominator, and so
        every rate over it), except the state's own All-students numbers and, in a kept
        year, a head count the earlier release published (see :meth:`withhold_as_before`:
        it would hide nothing from whoever kept that release); returns how many were
        published."""
        units = np.unique(self.den_id[nums])
        return self.hide(units[~self.keep[units] & ~self.show_known[units]])

    def propagate(self) -> int:
        """Withheld denominator -> its numerators withheld (coded ones too); a denominator
        that no published row would show any more is withheld."""
        changed = 0
        r = self.reason
        nums = np.flatnonzero(~self.is_den)
        dh = r[self.den_id[nums]]
        sel = nums[(dh != NONE) & ((r[nums] == NONE) | (r[nums] >= TOP))]
        if len(sel):
            r[sel] = np.where(dh[np.searchsorted(nums, sel)] == PRIMARY, PRIMARY, COMPLEMENTARY)
            changed += len(sel)
        shown = self.den_has_count_row | self.show_known
        vis = nums[(r[nums] == NONE) | (r[nums] >= TOP)]
        shown[self.den_id[vis]] = True
        dens = np.flatnonzero(self.is_den & ~shown & (r == NONE))
        changed += self.hide(dens)
        # A withheld part within a few of its published whole (a grade's tested count, every
        # pupil or all but a few tested) can move up only that far without it: the whole is
        # withheld too (its relations then get their complements as any other's). Published,
        # it caps the part, and a complement's floor (min_cell_size) or its partners' caps
        # pin it from below (a one-school district's 30 tested in grade 5 Science, all 30
        # enrolled); or the caps add up to pin a small group's count (a school's 1 English
        # learner tested in Science, grades 5 and 8 within 3 of their enrolment).
        part, whole = self.system.bounds[:, 0], self.system.bounds[:, 1]
        tight = (r[part] != NONE) & (r[whole] == NONE) & (
            self.value[whole] - self.value[part] < self.policy.protection.min_range_primary)
        w = whole[tight]
        changed += self.hide(w[self.eligible_at(0)[w] & ~self.show_known[w]])
        # And the other way: a withheld whole within a few of its published part is floored
        # by it (a small grade's enrolment, its school's total less the other grades'
        # enrolments, each floored by its published tested count): the part is withheld too.
        floor = (r[whole] != NONE) & (r[part] == NONE) & (
            self.value[whole] - self.value[part] < self.policy.protection.min_range_primary)
        p = part[floor]
        changed += self.hide(p[self.eligible_at(0)[p] & ~self.show_known[p]])
        return changed

    def needs_more(self) -> np.ndarray:
        """Relations (real, then regional) that need one more withheld member.

        A regional relation never does: a district's share of a state total that is the only
        one withheld in its region is pinned by its region's proof alone, but not by what is
        published, and the audit's partner districts prove it with shares withheld in other
        regions. (Until session 39 it took a partner in its own region: full state 2024,
        5,668 more rows withheld, 1,728 of them All-students rows, and 20 more districts' and
        schools' total enrollments; benchmarks/README.md, "session 39".)"""
        m = self.policy.min_cell_size
        n_h, s = self._withheld_per_relation()
        real_h, real_s = n_h[:self.n_rel], s[:self.n_rel]
        tot_pub = ~self.hidden[self.rel_total]
        real = ((real_h == 1)
                | (tot_pub & self.rel_count & (real_s >= 1) & (real_s < m))
                | (tot_pub & ~self.rel_count & (real_h >= 1) & (real_s == 0)))
        if self.before is not None:
            real |= self._change_needs()
        return np.r_[real, np.zeros(self.n_reg_rel, bool)]

    def _change_needs(self) -> np.ndarray:
        """A kept year's relations whose total's change since the earlier release is
        published (the total is published in both), and whose parts' changes not
        published (withheld now, or then) add up to 1 to min_cell_size - 1 either way:
        of head counts, a derived group of the students who changed (a school's enrollment
        changed by 45, its White pupils' by 38: the 7 others who moved); of numerators,
        the students whose outcome changed, where those parts' head count changed by fewer
        than min_cell_size or by an amount not published (a district's proficient count up
        by 40, one school's by 35: 5 re-scored at the other, where no pupil came or went).
        Withholding one more part, or the total, is what hides it (a part the earlier
        release published unchanged is no complement: its change, none, is known)."""
        assert self.before is not None
        m = self.policy.min_cell_size
        change = self.before - self.value
        known = ~np.isnan(change) & (~self.hidden | self.show_known)
        rel, var, tot = self.e_rel, self.e_var, self.e_tot
        k = known[var]
        of_total = np.full(self.n_rel, np.nan)
        of_total[rel[tot & k]] = change[var[tot & k]]
        parts = np.bincount(rel[~tot & k], weights=change[var[~tot & k]],
                            minlength=self.n_rel)
        unknown = np.bincount(rel[~tot & ~k], minlength=self.n_rel)
        derived = np.abs(of_total - parts)
        need = ~np.isnan(of_total) & (unknown > 0) & (derived > 0.5) & (derived < m - 0.5)
        outcome = need & ~self.rel_count
        if outcome.any():  # how many came or went among the parts not published
            d = self.den_id[var]
            d_change = np.where(known[d], change[d], np.nan)
            total_den = np.full(self.n_rel, -1)
            total_den[rel[tot]] = d[tot]
            one_den = np.bincount(rel[~tot & (d != total_den[rel])],
                                  minlength=self.n_rel) == 0
            of_total_den = np.full(self.n_rel, np.nan)
            of_total_den[rel[tot]] = d_change[tot]

            def head_change(edges: np.ndarray) -> np.ndarray:
                """Per relation: its ``edges``' head counts' change (NaN: not all known)."""
                out = np.bincount(rel[edges], weights=np.nan_to_num(d_change[edges]),
                                  minlength=self.n_rel)
                unsure = np.bincount(rel[edges & np.isnan(d_change)], minlength=self.n_rel)
                return np.where(unsure > 0, np.nan, out)

            came, others = head_change(~tot & ~k), head_change(~tot & k)
            came = np.where(one_den, of_total_den,
                            np.where(np.isnan(came), of_total_den - others, came))
            many = ~np.isnan(came) & (np.abs(came) > m - 0.5)
            need &= self.rel_count | ~many
        return need

    def _withheld_per_relation(self) -> tuple[np.ndarray, np.ndarray]:
        """Per relation (real, then regional): how many members are withheld, and the sum
        of the withheld parts (totals not counted). Values are only ever withheld, never
        published again, so after the first call only the edges of the values withheld
        since are added (the complement rounds ask after every pick)."""
        h = self.hidden
        n_all = self.n_rel + self.n_reg_rel
        cache = self._per_rel
        if cache is None or (cache[0] & ~h).any():  # first call, or a value published again
            edges = np.flatnonzero(h[self.g_var])
            n_h = np.zeros(n_all, np.int64)
            s = np.zeros(n_all)
        else:
            seen, n_h, s = cache
            edges, _ = _members(self.by_var, np.flatnonzero(h & ~seen))
        rel = self.g_rel[edges]
        n_h = n_h + np.bincount(rel, minlength=n_all)
        s = s + np.bincount(rel, weights=self._part_value[edges], minlength=n_all)
        self._per_rel = (h, n_h, s)
        return n_h, s

    def cheapest(self, rel_mask: np.ndarray, by_rel: bool = False,
                 tier: int | None = None) -> np.ndarray:
        """For each relation in ``rel_mask`` (real, or real then regional): its cheapest
        published eligible member, by the cost order below (``by_rel``: as an array over
        relations, -1 where there is none; ``tier``: eligible as :meth:`eligible_at` says,
        instead of :attr:`eligible`)."""
        if len(rel_mask) == self.n_rel:
            rel_mask = np.r_[rel_mask, np.zeros(self.n_reg_rel, bool)]
        h = self.hidden
        eligible = self.eligible if tier is None else self.eligible_at(tier)
        # The edges of the relations asked about, and of the candidates' relations, by the
        # CSRs (no pass over every edge: most calls ask about a few relations). An edge's
        # order does not matter: (relation, variable) pairs are distinct and ranks unique.
        edges, _ = _members(self.by_rel, np.flatnonzero(rel_mask))
        ok = ~h[self.g_var[edges]] & eligible[self.g_var[edges]]
        rels, ev = self.g_rel[edges[ok]], self.g_var[edges[ok]]
        # Within a cost class (numerator or count; All-students/all-grades or not), the
        # candidate that starts the fewest new needs, less the needs it meets: withholding a
        # value makes each of its relations with nothing withheld yet a relation with one
        # withheld member, which needs a complement of its own; a value in several relations
        # of ``rel_mask`` meets each of them. Then the smallest. (Central state 2024: 7% fewer
        # complementary rows, 2.7% fewer rows withheld; benchmarks/README.md, "session 23".)
        # Per candidate, its relations with nothing withheld yet.
        cand, at, meets = np.unique(ev, return_inverse=True, return_counts=True)
        c_edges, k = _members(self.by_var, cand)
        n_h = self._withheld_per_relation()[0]
        starts = _sums((n_h[self.g_rel[c_edges]] == 0).astype(np.int64), k)
        o = lex_order(rels, self.cost_class[ev], starts[at] - meets[at], self.rank[ev])
        rels, ev = rels[o], ev[o]
        first = np.flatnonzero(np.r_[True, rels[1:] != rels[:-1]]) if len(rels) else rels
        if by_rel:
            out = np.full(len(rel_mask), -1, np.int64)
            out[rels[first]] = ev[first]
            return out
        return np.unique(ev[first])

    def greedy(self) -> int:
        """Complements until no relation needs one. A relation whose need another
        relation's pick also meets waits a round, so two relations do not each withhold a
        different cell where one would do."""
        total = 0
        while True:
            changed = self.propagate()
            need = self.needs_more()
            if need.any():
                pick = self.cheapest(need, by_rel=True)
                # A relation with no other candidate (e.g. a one-school district's schools,
                # or the state's grades, all of them All-students numbers, one of them
                # small) takes a total enrollment, else one of the state's own.
                for tier in (1, 2):
                    if (need & (pick < 0)).any():
                        fallback = self.cheapest(need & (pick < 0), by_rel=True, tier=tier)
                        pick = np.where(pick < 0, fallback, pick)
                # How many picks land in each relation.
                edges, _ = _members(self.by_var, np.unique(pick[pick >= 0]))
                landing = np.bincount(self.g_rel[edges], minlength=len(need))
                sure = (pick >= 0) & (landing == 1)
                chosen = pick[sure] if sure.any() else pick[pick >= 0]
                changed += self.hide(np.unique(chosen))
            total += changed
            if not changed:
                return total

    def attacker_bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the published pattern alone says about each value (as the audit reads it):
        bounds and the width each withheld value needs."""
        m = self.policy.min_cell_size
        w = self.policy.protection.min_range_primary
        r = self.reason
        v = self.value.astype(float)
        lo, hi = v.copy(), v.copy()
        req = np.zeros(len(r), np.int64)
        den, num = self.is_den, ~self.is_den
        prim_d = den & (r == PRIMARY)
        comp_d = den & (r == COMPLEMENTARY)
        lo[prim_d], hi[prim_d], req[prim_d] = 1, m - 1, w
        lo[comp_d], hi[comp_d], req[comp_d] = m, BIG, 1
        d = self.dval.astype(float)
        bottom, top = self.bottom, self.top
        dh = r[self.den_id] != NONE
        hn = num & dh
        lo[hn], hi[hn], req[hn] = 0, BIG, 1
        t = num & ~dh & (r == TOP)
        b = num & ~dh & (r == BOTTOM)
        lo[t], hi[t] = np.ceil(top[t] * d[t] / 100 - 1e-6), d[t]
        lo[b], hi[b] = 0, np.floor(bottom[b] * d[b] / 100 + 1e-6)
        req[t | b] = np.minimum(w, hi[t | b] - lo[t | b])
        c = num & ~dh & (r == COMPLEMENTARY)
        lo[c] = np.floor(bottom[c] * d[c] / 100 + 1e-6) + 1
        hi[c] = np.ceil(top[c] * d[c] / 100 - 1e-6) - 1
        req[c] = 1
        return lo, hi, req

    def _per_var(self, ufunc: np.ufunc, edge_values: np.ndarray, empty: float) -> np.ndarray:
        """Reduce per-edge values to one per variable (sorted reduceat, not ufunc.at)."""
        if not hasattr(self, "_by_var"):
            self._by_var = np.argsort(self.e_var, kind="stable")
            sv = self.e_var[self._by_var]
            self._var_start = np.flatnonzero(np.r_[True, sv[1:] != sv[:-1]])[:len(sv)]
            self._var_ids = sv[self._var_start]
        out = np.full(len(self.reason), empty)
        if len(self._by_var):
            out[self._var_ids] = ufunc.reduceat(edge_values[self._by_var], self._var_start)
        return out

    def narrow(self, sweeps: int = 30, wait: bool = False) -> np.ndarray:
        """Withheld values that bound propagation over the relations already pins or
        narrows too far (propagated bounds contain the true range, so these are real).
        Only relations with a withheld member take part.

        ``wait`` (the narrowing rounds): a district's narrow value whose every binding
        complement would withhold a whole unit (an All-students count: every rate over it
        goes too) waits one round while a school of its district is narrow in the same
        subject, and is left out of what is returned (unless every narrow value would
        wait: nothing else would change for it). A district's number is the sum of its
        schools', so it is often narrow only through theirs (a school's one Black student,
        pinned by its races' sum, is the district's one too), and the school's complement
        widens both. (Full state, five years: 3,767 fewer rows withheld; the headline rate
        withheld for 105 fewer districts and 44 more schools: where a district's total and
        a school's are the two a relation can take, the smaller goes now; benchmarks/README.md,
        "session 40".)"""
        own_lo, own_hi, req = self.attacker_bounds()
        lo, hi = own_lo, own_hi
        h = self.hidden
        n_h = self._withheld_per_relation()[0][:self.n_rel]
        act = n_h[self.e_rel] >= 1
        if not act.any():
            return np.zeros(0, np.int64)
        ev, et = self.e_var[act], self.e_tot[act]
        # The active relations, in order, and each active edge's index among them.
        rels = np.flatnonzero(n_h >= 1)
        at_rel = np.zeros(self.n_rel, np.int64)
        at_rel[rels] = np.arange(len(rels))
        er = at_rel[self.e_rel[act]]
        rt = self.rel_total[rels]
        # The sweeps read the edges sorted by variable, once: a subset of them stays sorted.
        order = np.argsort(ev, kind="stable")
        all_v, all_t, all_r = ev[order], et[order], er[order]
        sub_v, sub_t, sub_r = all_v, all_t, all_r
        nums = np.flatnonzero(~self.is_den & h)
        dens = self.den_id[nums]
        # Sweeps over the relations that have a member whose bounds changed in the last
        # sweep (all of them the first time): the bounds only ever tighten, so a relation
        # none of whose members changed has nothing new to say. (Every bound is a whole
        # number well under 2**53, so the sums are exact in any order.)
        for _ in range(sweeps):
            plo = np.where(sub_t, 0.0, lo[sub_v])
            phi = np.where(sub_t, 0.0, hi[sub_v])
            slo = np.bincount(sub_r, weights=plo, minlength=len(rels))
            shi = np.bincount(sub_r, weights=phi, minlength=len(rels))
            tlo, thi = lo[rt], hi[rt]
            # Each part: total minus the other parts; the total: the sum of the parts.
            new_lo = np.where(sub_t, slo[sub_r], tlo[sub_r] - (shi[sub_r] - phi))
            new_hi = np.where(sub_t, shi[sub_r], thi[sub_r] - (slo[sub_r] - plo))
            starts = np.flatnonzero(np.r_[True, sub_v[1:] != sub_v[:-1]])
            vids = sub_v[starts]
            lo2, hi2 = lo.copy(), hi.copy()
            lo2[vids] = np.maximum(lo[vids], np.maximum.reduceat(new_lo, starts))
            hi2[vids] = np.minimum(hi[vids], np.minimum.reduceat(new_hi, starts))
            hi2[nums] = np.minimum(hi2[nums], hi2[dens])
            np.maximum.at(lo2, dens, lo2[nums])
            hi2 = np.minimum(hi2, BIG)
            moved = (lo2 != lo) | (hi2 != hi)
            if not moved.any():
                break
            lo, hi = lo2, hi2
            touched = np.zeros(len(rels), bool)
            touched[er[moved[ev]]] = True
            keep = touched[all_r]
            if not keep.any():
                break
            sub_v, sub_t, sub_r = all_v[keep], all_t[keep], all_r[keep]
        width = np.floor(hi + 1e-6) - np.ceil(lo - 1e-6)
        bad = np.flatnonzero(h & (width < req))
        # The relations that bind each narrow value (of those that pin it, the highest lower
        # bound and the lowest upper bound): a complement there is what widens it. And the
        # narrow values some relation pins (see _narrowing_round).
        self.binding = np.zeros(self.n_rel, bool)
        self.pinned = np.zeros(0, np.int64)
        if len(bad):
            is_bad = np.zeros(len(h), bool)
            is_bad[bad] = True
            sel = is_bad[ev] & ~et
            plo = np.where(et, 0.0, lo[ev])
            phi = np.where(et, 0.0, hi[ev])
            slo = np.bincount(er, weights=plo, minlength=len(rels))
            shi = np.bincount(er, weights=phi, minlength=len(rels))
            # Each edge's bound on its member: a part, the total minus the other parts; the
            # total, the sum of the parts.
            elo = np.where(et, slo[er], lo[rt][er] - (shi[er] - phi))
            ehi = np.where(et, shi[er], hi[rt][er] - (slo[er] - plo))
            # An edge pins its member where its bound is the member's propagated bound and
            # tighter than what the member's reason alone says.
            pins_lo = (elo >= lo[ev] - 1e-6) & (elo > own_lo[ev] + 1e-6)
            pins_hi = (ehi <= hi[ev] + 1e-6) & (ehi < own_hi[ev] - 1e-6)
            pins = pins_lo | pins_hi
            # Per side, the relation that pins it (the tightest): a relation whose bound is
            # no tighter than the value's own does not hold it there, and a complement in it
            # widens nothing (a school's Asian count of 1, narrowed from above through the
            # district's, would cost the school's All-students count, its only published
            # partner in the races' sum, while the count's own floor of 1 stays).
            self.pinned = np.unique(ev[sel & pins])
            # Of relations that pin it equally tight, one with a member left to withhold
            # first: the other may hold it only as its echo (the district's count of a
            # school's one Black student is the school's count), and going on through it
            # (_bind_through) would withhold the district's All-students count.
            has_open = self._has_open()
            bv, br = [], []
            for key, side in ((-elo, pins_lo), (ehi, pins_hi)):
                m = sel & side
                v, r = ev[m], rels[er[m]]
                o = np.lexsort((~has_open[r], key[m], v))
                first = np.r_[True, v[o][1:] != v[o][:-1]] if len(o) else np.zeros(0, bool)
                bv.append(v[o][first])
                br.append(r[o][first])
            b_v, b_r = np.concatenate(bv), np.concatenate(br)
            if wait:
                waiting = self._waiting(bad, b_v, b_r)
                if len(waiting) < len(bad):
                    keep = ~np.isin(b_v, waiting)
                    b_v, b_r = b_v[keep], b_r[keep]
                    bad = np.setdiff1d(bad, waiting)
                    self.pinned = np.setdiff1d(self.pinned, waiting)
                    self.waited[waiting] = True
            self.binding[b_r] = True
            self._bind_through(ev, er, rels, pins, has_open)
        return bad

    def _has_open(self) -> np.ndarray:
        """Per relation: whether a member is published and eligible as a complement."""
        open_ = ~self.hidden & self.eligible
        has_open = np.zeros(self.n_rel, bool)
        has_open[self.e_rel[open_[self.e_var]]] = True
        return has_open

    def _waiting(self, bad: np.ndarray, b_v: np.ndarray, b_r: np.ndarray) -> np.ndarray:
        """The narrow values of ``bad`` that wait a round (see :meth:`narrow`), given each
        value's binding relations (pairs ``b_v``, ``b_r``)."""
        dis = bad[self.is_district[bad] & ~self.waited[bad]]
        schools = self.district_subject[bad[self.is_school[bad]]]
        dis = dis[np.isin(self.district_subject[dis], schools)]
        if not len(dis):
            return dis
        mask = np.zeros(self.n_rel, bool)
        mask[b_r] = True
        pick = self.cheapest(mask, by_rel=True)[:self.n_rel][b_r]
        # No pick: the relation holds it through others (_bind_through), dear as well.
        dear = (pick < 0) | (self.is_den & self.allg)[np.maximum(pick, 0)]
        return dis[~np.isin(dis, b_v[~dear])]

    def _bind_through(self, ev: np.ndarray, er: np.ndarray, rels: np.ndarray,
                      pins: np.ndarray, has_open: np.ndarray, hops: int = 3) -> None:
        """A binding relation with nothing left to withhold (every member withheld already)
        holds its narrow value through the bounds of its other members: a school's Female
        count of 27 beside a Male count of 29 is pinned by their total, 56, which is itself
        pinned (54..58) by the district's relation of school totals, where one other school's
        total is withheld too. Mark the relations that pin those members (where a relation's
        bound is tighter than what a member's reason alone says), up to ``hops`` steps out,
        so that the complement lands where it widens the chain. (Full state 2024: the
        narrowing rounds before the audit went from 143 to 6, 133 s to 15 s, and withheld
        2,500 fewer values; benchmarks/README.md, "session 24".) ``ev``, ``er``, ``rels``:
        :meth:`narrow`'s active edges; ``pins``: per edge, whether it pins its member;
        ``has_open``: :meth:`_has_open`."""
        seen = np.zeros(len(self.reason), bool)
        stuck = np.flatnonzero(self.binding & ~has_open)
        for _ in range(hops):
            if not len(stuck):
                return
            at = np.zeros(len(rels), bool)
            at[np.searchsorted(rels, stuck)] = True  # binding relations are active ones
            # The other withheld members of the stuck relations, and what pins them.
            members = np.unique(ev[at[er]])
            members = members[~seen[members]]
            seen[members] = True
            pin = np.isin(ev, members) & pins & ~at[er]
            nxt = np.unique(rels[er[pin]])
            nxt = nxt[~self.binding[nxt]]
            self.binding[nxt] = True
            stuck = nxt[~has_open[nxt]]

    def cube_complements(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Published values whose withholding gives each of ``xs`` a hypercube that proves
        it (see :func:`cubes.cube_complements`), and which of ``xs`` get one. Never an
        All-students, all-grades number: a cube through one (All students with a level and
        each group as a count) would withhold a school's or district's headline where the
        audit's own complements usually spare it (full state 2024, with them: a district's
        All-students proficient-or-advanced withheld for 31% of districts in ELA, not 22%,
        though 4,058 fewer rows in all; without them: 22%, and 6,390 fewer rows)."""
        lo, hi, req, cost = self.complement_bounds()
        return cube_complements(self.system, xs, self.hidden, self.eligible & ~self.allg,
                                self.value, lo, hi, req, cost, self.policy)

    def complement_bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each value's bounds as the audit would read them (a published one's: once
        withheld as a complement), the width each withheld value needs, and the cost of
        withholding each published one."""
        m = self.policy.min_cell_size
        lo, hi, req = self.attacker_bounds()
        # A published value's bounds once withheld as a complement.
        pub = ~self.hidden
        d = self.dval.astype(float)
        den_pub = ~self.hidden[self.den_id]
        lo[pub & self.is_den], hi[pub & self.is_den] = m, BIG
        n_in = pub & ~self.is_den & den_pub
        lo[n_in] = np.floor(self.bottom[n_in] * d[n_in] / 100 + 1e-6) + 1
        hi[n_in] = np.ceil(self.top[n_in] * d[n_in] / 100 - 1e-6) - 1
        n_out = pub & ~self.is_den & ~den_pub
        lo[n_out], hi[n_out] = 0, BIG
        # Numerators <= counts (each held where it is while the other moves).
        nums = np.flatnonzero(~self.is_den)
        hi[nums] = np.minimum(hi[nums], d[nums])
        np.maximum.at(lo, self.den_id[nums], self.value[nums].astype(float))
        # Withholding a count withholds its whole unit; All-students rows are kept if
        # possible, and a school's or district's total enrollment most of all.
        cost = 1.0 + 3.0 * self.is_den + 10.0 * self.allg + 30.0 * self.head
        return lo, hi, req, cost

    def freeing(self, fvars: np.ndarray, stubborn: np.ndarray | None = None,
                desperate: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """For each withheld value of ``fvars``: the cheapest published values whose
        withholding lets it move as far as it needs to within its proof region, everything
        outside the region held where it is (as the audit's regional proofs hold it).

        One LP per region, over its values: each relation's members must move by amounts
        that keep it adding up; a withheld value may move within its bounds for free, a
        published eligible one at the cost of withholding it (:meth:`complement_bounds`).
        The published values that move are the picks; a value's picks are free for the next
        value of the region. This ends the chains that one complement per relation leaves:
        a complement that is itself pinned by its own published groups frees nothing (full
        state 2024: a St. Joseph school's ELA tested count took six rounds and six more
        schools' counts, one a round; benchmarks/README.md, "session 26"). The state's own
        values are held, as in the audit's regions. Returns the picks and the values of
        ``fvars`` that nothing in their region frees (nor those already free here: the audit
        failed them on constraints this LP does not have).

        Values of ``stubborn`` (failed STUBBORN_ROUNDS rounds) that nothing in their region
        frees get one more LP: their region with the state's values free to move too, each
        at a price above any region's (``STATE_PRICE``), but not the state's All-students
        numbers; those of a grade only for values of ``desperate`` (failed twice as many
        rounds), and those of all grades, the headline of every page, never (only
        :func:`_audit_rounds`' last resort withholds one). Some values are pinned by the
        state's numbers alone: a school's grade of one pupil, not tested, whose enrolment
        can be no more than the state's pupils not tested (its enrolled count less its
        tested count, both published; toy state 3: 5, so the school's 1 is 1..5). (Full
        state 2021: with the All-students numbers movable at the 4th round, four of them
        were withheld, the state's enrolment among them; without, the year passed at its
        6th round with none.)"""
        bounds = self.complement_bounds()
        hidden, open_ = self.hidden, ~self.hidden & self.eligible
        state = self.is_state
        taken = np.zeros(len(hidden), bool)  # picked for a value before: free for the next
        fvars = np.unique(fvars)
        todo, stuck = fvars[~state[fvars]], [fvars[state[fvars]]]
        # First over the value's own district (small LPs: a school's value moves with other
        # schools' values, not with the district's share of a state total), then over its
        # region for the values that needs.
        for part in (self.district, self.region):
            left = []
            for g in np.unique(part[todo]):
                cols = np.flatnonzero((part == g) & ~state & (hidden | open_))
                left.append(self._free_lp(cols, todo[part[todo] == g], bounds, taken))
            todo = np.concatenate(left) if left else todo[:0]
        lo, hi, req, cost = bounds
        priced = (lo, hi, req, cost + STATE_PRICE * state)
        # Tier 1: total enrolments too, not the state's All-students numbers; tier 2: those too.
        for tried, tier in ((stubborn, 1), (desperate, 2)):
            last = todo[np.isin(todo, tried)] if tried is not None else todo[:0]
            if not len(last):
                continue
            movable = state & (hidden | self.eligible_at(tier))
            left = []
            for g in np.unique(self.region[last]):
                cols = np.flatnonzero(((self.region == g) & ~state & (hidden | open_))
                                      | movable)
                left.append(self._free_lp(cols, last[self.region[last] == g], priced, taken,
                                          counts_move=True))
            todo = np.concatenate([np.setdiff1d(todo, last), *left])
        out = np.flatnonzero(taken & ~hidden)
        out = out[self.is_den[out] | ~taken[self.den_id[out]]]
        return out, np.concatenate([*stuck, todo])

    def _free_lp(self, cols: np.ndarray, fvars: np.ndarray,
                 bounds: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                 taken: np.ndarray, counts_move: bool = False) -> np.ndarray:
        """:meth:`freeing` over the values ``cols`` (everything else held): marks the
        picks in ``taken``; returns the values of ``fvars`` it cannot free.

        ``counts_move``: a withheld numerator over a withheld count (both among ``cols``)
        is held within the count as a row, not capped at the count's value, so that the
        count can grow with it (a grade's enrolment of one pupil that needs to reach 6
        takes its attendance numerators along: capped, they hold it at 1)."""
        lo, hi, req, cost = bounds
        hidden = self.hidden
        val = self.value.astype(float)
        # Columns: a deviation per withheld value; up and down moves per published one.
        hc, pc = cols[hidden[cols]], cols[~hidden[cols]]
        nh, npub = len(hc), len(pc)
        col_of = np.full(len(val), -1, np.int64)
        col_of[hc] = np.arange(nh)
        col_of[pc] = nh + np.arange(npub)
        c_lo = np.r_[np.maximum(lo[hc] - val[hc], -BIG), np.zeros(2 * npub)]
        c_hi = np.r_[np.minimum(hi[hc] - val[hc], BIG),
                     np.clip(hi[pc] - val[pc], 0, BIG), np.clip(val[pc] - lo[pc], 0, BIG)]
        part, whole = self.system.bounds[:, 0], self.system.bounds[:, 1]
        if counts_move:
            nums = hc[~self.is_den[hc]]
            dens = self.den_id[nums]
            both = (col_of[dens] >= 0) & hidden[dens]
            nums, dens = nums[both], dens[both]
            raw_lo, raw_hi, _ = self.attacker_bounds()
            held = np.ones(len(val), bool)
            held[nums] = False
            floor = raw_lo.copy()  # a count's floor: its numerators held where they are
            other = np.flatnonzero(~self.is_den & held)
            np.maximum.at(floor, self.den_id[other], val[other])
            c_hi[col_of[nums]] = np.minimum(raw_hi[nums], BIG) - val[nums]
            ud = np.unique(dens)
            c_lo[col_of[ud]] = np.maximum(floor[ud] - val[ud], -BIG)
            part, whole = np.r_[part, nums], np.r_[whole, dens]
        pcost = np.where(taken[pc], 0.0, cost[pc])
        free = np.r_[np.zeros(nh), pcost, pcost]
        # Rows: every relation with a member among ``cols`` keeps adding up; then every
        # part within a whole (tested within enrolled) with one of the two among ``cols``
        # stays within it (the two may move together: a tested count that equals its
        # enrolment moves up only with it).
        sel = col_of[self.e_var] >= 0
        rel_ids, r_row = np.unique(self.e_rel[sel], return_inverse=True)
        coef = np.where(self.e_tot[sel], 1.0, -1.0)
        c = col_of[self.e_var[sel]]
        pw = np.flatnonzero((col_of[part] >= 0) | (col_of[whole] >= 0))
        n_rel = len(rel_ids)
        b_row = n_rel + np.r_[np.arange(len(pw)), np.arange(len(pw))]
        b_c = np.r_[col_of[part[pw]], col_of[whole[pw]]]
        b_coef = np.r_[np.ones(len(pw)), -np.ones(len(pw))]
        inside = b_c >= 0
        r_row = np.r_[r_row, b_row[inside]]
        coef = np.r_[coef, b_coef[inside]]
        c = np.r_[c, b_c[inside]]
        is_p = c >= nh
        n_rows = n_rel + len(pw)
        A = coo_matrix((np.r_[coef, -coef[is_p]], (np.r_[r_row, r_row[is_p]],
                                                   np.r_[c, c[is_p] + npub])),
                       shape=(n_rows, nh + 2 * npub)).tocsc()
        r_lo = np.r_[np.zeros(n_rel), np.full(len(pw), -np.inf)]
        r_hi = np.r_[np.zeros(n_rel), val[whole[pw]] - val[part[pw]]]
        h = _audit._model(A, c_lo, c_hi, r_lo, r_hi)
        # Dual simplex from the last basis: only one column's bounds (and costs that drop to
        # 0) change between solves. (Full state 2024, a 59,000-value region, 10 values:
        # 1.2 s, against 28 s with the primal simplex the audit's range LPs use.)
        h.setOptionValue("simplex_strategy", 1)
        stuck = []
        for f in fvars:
            j = int(col_of[f])
            best = None
            if 0 <= j < nh:
                for s in (1.0 * max(req[f], 1), -1.0 * max(req[f], 1)):
                    if not c_lo[j] <= s <= c_hi[j]:
                        continue
                    h.changeColBounds(j, s, s)
                    h.changeColsCost(len(free), np.arange(len(free), dtype=np.int32), free)
                    h.run()
                    ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
                    x = np.asarray(h.getSolution().col_value) if ok else None
                    h.changeColBounds(j, c_lo[j], c_hi[j])
                    if x is None:
                        continue
                    moved = pc[(x[nh:nh + npub] + x[nh + npub:]) > 1e-7]
                    price = float(free[col_of[moved]].sum())
                    if best is None or price < best[0]:
                        best = (price, moved)
                    if price == 0:
                        break
            if best is None or not len(best[1]):
                # Free already as this LP sees it, yet failing the audit (whose constraints
                # it does not all have: full state 2025, a school's chronic-absence count of
                # girls, in two rounds): no pick here frees it.
                stuck.append(int(f))
                continue
            # Withheld now, with the rates over a count picked: free for the next value.
            got = best[1]
            taken[got] = True
            unit = np.isin(self.den_id[pc], got[self.is_den[got]])
            taken[pc[unit]] = True
            k = col_of[pc[np.isin(pc, got) | unit]]
            free[k] = free[k + npub] = 0.0
        return np.array(stuck, np.int64)

    def local_relations(self, var_ids: np.ndarray) -> np.ndarray:
        """The relations of each value (ids over real, then regional relations) where a
        complement helps its region's proof: a state relation is replaced by its part in
        the value's region."""
        sel = np.isin(self.e_var, var_ids)
        rel, var = self.e_rel[sel], self.e_var[sel]
        out = rel.copy()
        at_state = np.flatnonzero(self.is_state_rel[rel])
        key = rel[at_state] * (int(self.region.max()) + 1) + self.region[var[at_state]]
        at = np.searchsorted(self._reg_keys, key)
        ok = at < len(self._reg_keys)
        ok[ok] = self._reg_keys[at[ok]] == key[ok]
        out[at_state[ok]] = self.n_rel + at[ok]
        return np.unique(out)

    def fix_vars(self, fvars: np.ndarray, late: np.ndarray | None = None) -> int:
        report = _audit.AuditReport(failures=[_audit.Failure("approximate", "", var_id=int(v))
                                              for v in fvars])
        return self.fix(report, late)

    def held_by(self, report: _audit.AuditReport) -> pl.DataFrame:
        """For each failing value whose exact LP named the relations holding it (the rows
        with a nonzero dual, :attr:`audit.Failure.binding_rels`), the cheapest published
        member of those relations that can move both ways (a count, or a numerator above 0:
        a 0 cannot go down, and a value held at 0 needs a partner that can), in the value's
        own region where the relation is a state total. Columns ``f`` (failing value) and
        ``c`` (its complement)."""
        pairs = np.array([(f.var_id, r) for f in report.failures if f.var_id is not None
                          for r in f.binding_rels], np.int64).reshape(-1, 2)
        return self.cheapest_for(pairs[:, 0], pairs[:, 1], movable=True)

    def cheapest_for(self, fv: np.ndarray, rel: np.ndarray, movable: bool = False,
                     ) -> pl.DataFrame:
        """For (failing value, relation) pairs: per failing value, the cheapest published
        eligible member of its relations; in a state relation, only one in the value's own
        proof region (unless it may have complements anywhere). ``movable``: only a count
        or a numerator above 0. Columns ``f`` and ``c``."""
        cand = pl.DataFrame({"f": fv.astype(np.int64), "rel": rel.astype(np.int64)}).join(
            pl.DataFrame({"rel": self.e_rel.astype(np.int64), "c": self.e_var.astype(np.int64)}),
            on="rel")
        c = cand["c"].to_numpy()
        f = cand["f"].to_numpy()
        ok = ~self.hidden[c] & self.eligible[c]
        if movable:
            ok &= self.is_den[c] | (self.value[c] > 0)
        ok &= ~self.is_state_rel[cand["rel"].to_numpy()] | (
            self.region[c] == self.region[f]) | self.anywhere[f]
        cand = cand.filter(pl.Series(ok)).with_columns(pl.Series("rank", self.rank[c[ok]]))
        return cand.sort("f", "rank").group_by("f", maintain_order=True).first().select("f", "c")

    def nearest(self, stuck: np.ndarray, hops: int = 4) -> tuple[np.ndarray, np.ndarray]:
        """For each value of ``stuck`` (none of whose relations has a published eligible
        member left): the cheapest published eligible value within ``hops`` relations of it,
        from the nearest ring that has one. One per value, not one per relation of the ring:
        the relations around a value deep in withheld numbers reach a district's or the
        state's counts within a few hops, and taking every relation's cheapest there withheld
        the large districts' headline results (see benchmarks/README.md, "session 22").
        Returns the picks and the values with none within reach."""
        if not hasattr(self, "_var_rel"):
            by_var = np.argsort(self.e_var, kind="stable")
            by_rel = np.argsort(self.e_rel, kind="stable")
            nv = len(self.reason)
            self._var_ptr = np.searchsorted(self.e_var[by_var], np.arange(nv + 1))
            self._var_rel = self.e_rel[by_var]
            self._rel_ptr = np.searchsorted(self.e_rel[by_rel], np.arange(self.n_rel + 1))
            self._rel_var = self.e_var[by_rel]

        def around(ids: np.ndarray, ptr: np.ndarray, flat: np.ndarray) -> np.ndarray:
            starts = ptr[ids]
            lens = ptr[ids + 1] - starts
            at = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(lens.sum())
            return np.unique(flat[at])

        open_ = ~self.hidden & self.eligible
        picks, far = [], []
        for x in stuck:
            ring = np.array([x], np.int64)
            seen = np.zeros(0, np.int64)
            for _ in range(hops):
                seen = np.union1d(seen, ring)
                ring = np.setdiff1d(around(around(ring, self._var_ptr, self._var_rel),
                                           self._rel_ptr, self._rel_var), seen)
                cand = ring[open_[ring]]
                if len(cand):
                    picks.append(int(cand[np.argmin(self.rank[cand])]))
                    break
            else:
                far.append(int(x))
        return np.array(picks, np.int64), np.array(far, np.int64)

    def fix(self, report: _audit.AuditReport, late: np.ndarray | None = None) -> int:
        """One more complement for each value the audit could narrow too far. A value of
        ``late`` (default: every one) with no eligible value left in its relations may take
        a total enrollment there, else the cheapest value a few relations away; the others
        wait a round for that (a complement further out, where what pins them is, usually
        frees them: full state 2024, 45 districts' total enrollments withheld before, 20
        after; benchmarks/README.md, "session 25")."""
        rel_mask = np.zeros(self.n_rel, bool)
        fvars = [f.var_id for f in report.failures if f.var_id is not None]
        rels = [f.rel_id for f in report.failures if f.rel_id is not None]
        rel_mask[np.array(rels, np.int64)] = True
        held = self.held_by(report)
        done = set(held["f"].to_list())
        fvars = [f for f in fvars if f not in done]
        n = self.hide(held["c"].to_numpy())
        if held.height:
            log.info("%d complements in the relations that hold %d failing values",
                     n, held.height)
        head_ok = self.head_ok
        if fvars:
            # The cheapest candidate over all relations of each failing value.
            picks = self.cheapest_for(*self._relations_of(np.array(fvars, np.int64)))
            picked = picks["c"].to_numpy()
            stuck = np.setdiff1d(np.array(fvars), picks["f"].to_numpy())
            if late is not None:
                stuck = np.intersect1d(stuck, late)
            if len(stuck):
                self.head_ok = True
                more = self.cheapest_for(*self._relations_of(stuck))
                picked = np.concatenate([picked, more["c"].to_numpy()])
                stuck = np.setdiff1d(stuck, more["f"].to_numpy())
            # No published member left around it: the cheapest one a few relations away.
            if len(stuck):
                near, far = self.nearest(stuck)
                picked = np.concatenate([picked, near])
                # Last resort for a numerator (e.g. a coded rate pinned by what the
                # published bands say): withhold its denominator, i.e. the whole unit.
                sn = far[~self.is_den[far]]
                d = self.den_id[sn]
                picked = np.concatenate([picked, d[self.eligible[d]]])
            self.head_ok = head_ok
            n += self.hide(picked)
        if rel_mask.any():
            # A derived group's total less its published parts: no waiting (greedy's order).
            pick = self.cheapest(rel_mask, by_rel=True)[:self.n_rel]
            last = self.cheapest(rel_mask, by_rel=True, tier=max(1, self._tier))[:self.n_rel]
            chosen = np.where(pick >= 0, pick, last)[rel_mask]
            n += self.hide(np.unique(chosen[chosen >= 0]))
        return n

    @property
    def _tier(self) -> int:
        return 3 if self.headline_ok else 2 if self.keep_ok else 1 if self.head_ok else 0

    def _relations_of(self, var_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(value, relation) pairs for every relation of each of ``var_ids``."""
        sel = np.isin(self.e_var, var_ids)
        return self.e_var[sel], self.e_rel[sel]


def protect(raw: pl.DataFrame, policy: Policy, *, audit: bool = True,
            workers: int = 1,
            witnesses: dict[int, _audit.Witnesses] | None = None,
            on_year: Callable[[int, pl.DataFrame, dict[int, _audit.Witnesses]], None]
            | None = None) -> pl.DataFrame:
    """Published cells (raw columns + ``cells.PUBLISHED_EXTRA``) from raw cells.

    Every number that discloses a group of fewer than ``policy.min_cell_size`` students,
    directly or by derivation across all the tables, is withheld. Deterministic.
    Years are independent populations: with ``workers > 1`` they are protected on that many
    cores, all at once where the memory holds them (:func:`parallel.uneven_processes`: one
    year's protect can take several times as long as another's), with the same result.
    ``witnesses``: filled with the witnesses of each year's passing audit (restricted data:
    points near the true values), which let the publication gate's audit check the proofs
    instead of searching for them again.
    ``on_year(year, cells, witnesses)``: called as each year is done (in the order they
    finish), e.g. to keep it and report progress: a full-state year takes minutes.
    """
    years = raw["year"].unique().sort().to_list()
    parts = [raw.filter(pl.col("year") == y) for y in years]
    done: dict[int, tuple[pl.DataFrame, dict[int, _audit.Witnesses]]] = {}

    def finished(year: int, result: tuple[pl.DataFrame, dict[int, _audit.Witnesses]]) -> None:
        done[year] = result
        if on_year is not None:
            on_year(year, *result)

    if workers > 1 and len(years) > 1:
        from functools import partial

        biggest = max(p.height for p in parts)
        with pool(len(years), workers, job_bytes=BYTES_PER_CELL * biggest) as procs:
            one = partial(_protect_one, policy=policy, audit=audit)
            for year, result in procs.imap_unordered(one, zip(years, parts, strict=True)):
                finished(year, result)
    else:
        for year, part in zip(years, parts, strict=True):
            finished(year, _protect_year(part, policy, audit=audit))
    if witnesses is not None:
        for y in years:
            witnesses.update(done[y][1])
    if not done:
        return _protect_year(raw, policy, audit=audit)[0]
    return pl.concat([done[y][0] for y in years]).sort(list(KEY))


def _protect_one(item: tuple[int, pl.DataFrame], policy: Policy, audit: bool = True,
                 ) -> tuple[int, tuple[pl.DataFrame, dict[int, _audit.Witnesses]]]:
    year, part = item
    return year, _protect_year(part, policy, audit=audit)


def _protect_year(raw: pl.DataFrame, policy: Policy, audit: bool = True,
                  before: pl.DataFrame | None = None,
                  prior: _audit.Witnesses | None = None,
                  ) -> tuple[pl.DataFrame, dict[int, _audit.Witnesses]]:
    cells = with_population(raw, policy).sort(list(KEY))
    if cells.select(KEY).is_duplicated().any():
        raise ProtectionError("raw cells: the same cell key appears twice")
    system = build_system(cells, policy)
    st = _State(cells, system, policy)
    st.primary_and_coding()
    if before is not None:
        st.withhold_as_before(*_shown_before(cells, system, before, policy.min_cell_size))
    st.greedy()
    strikes = np.zeros(len(st.reason), np.int64)
    for _ in range(MAX_NARROW_ROUNDS):
        if not _narrowing_round(st, strikes):
            break
    cubes = _Cubes(cells, system, policy) if int(st.hidden.sum()) <= CUBE_LIMIT else None
    # (Not from an earlier pattern: its values the audit proved without a cube would each
    # get one, and the same pattern given again would come back with more withheld.)
    if audit and cubes is not None and before is None:
        _cube_rounds(st, cubes)
    witnesses = _audit_rounds(st, cells, system, policy, cubes, prior) if audit else {}
    return render(cells, system, st.reason, policy, st.show_known), witnesses


def keep_pattern(raw: pl.DataFrame, policy: Policy, live: pl.DataFrame, *,
                 audit: bool = True, prior: _audit.Witnesses | None = None,
                 ) -> tuple[pl.DataFrame, dict[int, _audit.Witnesses]]:
    """One year's published cells that withhold everything ``live`` (an earlier release of
    the same year, as :func:`audit.read_published` reads it) withheld, and code at most
    what it coded, protected and audited as :func:`protect` does from there on.

    A visitor who kept the earlier release then learns nothing from this one about the
    cells both have that the earlier one did not already tell (differencing between
    releases, see :mod:`releases`). With the same true values, the earlier pattern passes
    the audit as it is, and comes back unchanged (given its own result as ``live``, this
    returns it again). Where more must be withheld (the data, the specs, the policy or the
    audit changed), a number the earlier release published and that is still true is no
    complement: a visitor who kept it knows it. (A withheld head count still withholds the
    rates over it, which the earlier release may have shown: the publication gate audits
    the two releases together, :func:`releases.audit_releases`.)

    ``prior``: witnesses of this year's cells from an earlier run (the live release's own,
    or this run's fresh pattern's), checked point by point before they count, as the
    gate's are. The audit rounds start from them: a value the live release's audit proved
    with a point this round's searches do not find would otherwise be unproven, and with
    every complement near it a number the live site publishes, nothing could be withheld
    for it (full state, the second correction published in a row: a school's ELA advanced
    count, 1..3 where it needs 3, in a linked group too large for an exact LP).
    """
    if raw["year"].n_unique() > 1:
        raise ProtectionError("keep_pattern protects one year at a time")
    return _protect_year(raw, policy, audit=audit, before=live, prior=prior)


def _shown_before(cells: pl.DataFrame, system: System, live: pl.DataFrame, min_cell: int,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per variable: whether ``live`` withheld it (a head count no row of it showed, a
    numerator whose row was withheld), whether it coded it (a numerator shown as a band),
    whether it published it, true today (a visitor who kept it knows it), and whether it
    published it and today's value differs by so few students that the change tells a
    group of fewer than ``min_cell`` (as :func:`releases.told_by_change` says); and the
    number it published, head count or numerator (NaN where it did not). A variable
    ``live`` has no row of is none of these."""
    keys = list(KEY)
    today = cells.select(*keys, pl.col("n_students").alias("_n"),
                         pl.col("n_meeting").alias("_m"))
    j = today.join(live.select(*keys, "reason", "n_students", "n_meeting"), on=keys,
                   how="left", nulls_equal=True, maintain_order="left")
    if j.height != cells.height:
        raise ProtectionError("the live release has the same cell key twice")
    matched = j["reason"].is_not_null().to_numpy()
    reason = j["reason"].fill_null("").to_numpy()
    den = system.den_of_row.to_numpy()
    nv = system.vars.height
    # A head count is withheld before when rows of it were there and none showed it.
    rows_of = np.bincount(den[matched], minlength=nv)
    showing = np.bincount(den[j["n_students"].is_not_null().to_numpy()], minlength=nv)
    withheld = (rows_of > 0) & (showing == 0)
    known = np.zeros(nv, bool)
    known[den[(j["n_students"] == j["_n"]).fill_null(False).to_numpy()]] = True
    coded = np.zeros(nv, bool)
    num = system.num_of_row.to_numpy()
    rate = system.num_of_row.is_not_null().to_numpy()
    nums = num[rate].astype(np.int64)
    r = reason[rate]
    withheld[nums[np.isin(r, ["primary", "complementary"])]] = True
    coded[nums[np.isin(r, ["top_coded", "bottom_coded"])]] = True
    same = (j["n_meeting"] == j["_m"]).fill_null(False).to_numpy()[rate]
    known[nums[(r == "") & same]] = True
    dn = (j["n_students"] - j["_n"]).abs()
    dm = (j["n_meeting"] - j["_m"]).abs()
    told = np.zeros(nv, bool)
    told[den[dn.is_between(1, min_cell - 1).fill_null(False).to_numpy()]] = True
    small_m = (dm.is_between(1, min_cell - 1) & (dn.fill_null(0) < min_cell)).fill_null(False)
    told[nums[small_m.to_numpy()[rate]]] = True
    before = np.full(nv, np.nan)
    shown = j["n_students"].is_not_null().to_numpy()
    before[den[shown]] = j["n_students"].to_numpy()[shown]
    shown = j["n_meeting"].is_not_null().to_numpy() & rate
    before[num[shown].astype(np.int64)] = j["n_meeting"].to_numpy()[shown]
    return withheld, coded, known, told, before


def _narrowing_round(st: _State, strikes: np.ndarray) -> int:
    """One round of withholding more around the values propagation narrows too far
    (:meth:`_State.narrow`); returns how many were withheld (0: none narrow, or nothing
    left to withhold). ``strikes`` counts the rounds each value has been narrow in.

    A complement in each relation that binds a narrow value. A value no relation pins
    tighter than its own reason does (a coded rate inside its band), and any value narrow
    for a second round, also gets one near it (:meth:`_State.fix_vars`); a value a relation
    does pin gets only its binding complements first: the cheapest value around it is often
    a total it shares a relation with that does not hold it at all (a school's Asian count
    of 1 narrowed from above through the district's count took the school's All-students
    tested count, its only published partner in the races' sum: full state 2024, 4,210 more
    rows withheld, 1,086 of them All-students rows; benchmarks/README.md, "session 38"). A
    numerator still narrow after STUBBORN_ROUNDS rounds (typically a coded rate pinned by
    what neighbouring bands say) loses its whole unit instead."""
    bad = st.narrow(wait=True)
    if not len(bad):
        return 0
    strikes[bad] += 1
    stubborn = bad[(strikes[bad] >= STUBBORN_ROUNDS) & ~st.is_den[bad]]
    n = st.hide_units(stubborn)
    n += st.hide(st.cheapest(st.binding))
    near = bad[~np.isin(bad, st.pinned) | (strikes[bad] >= 2)]
    n += st.fix_vars(near, late=near[strikes[near] >= 2])
    if not n:  # nothing else: every value may have its complements of last resort
        n = st.fix_vars(bad)
    if n:
        st.greedy()
    return n


class _Cubes:
    """The cube witnesses of a year's pattern, kept up to date as it grows. Withholding more
    only removes constraints, so a cube that proved a value still proves it (the audit
    checks every point again): after the first call, only the values withheld since, and the
    ones named, are looked at again."""

    def __init__(self, cells: pl.DataFrame, system: System, policy: Policy) -> None:
        self.cells, self.system, self.policy = cells, system, policy
        self.fresh = _audit.Witnesses(_audit.fingerprint(system))  # not yet taken
        self.seen: np.ndarray | None = None  # what was withheld at the last update

    def update(self, st: _State, again: np.ndarray | None = None,
               published: pl.DataFrame | None = None) -> np.ndarray:
        """Look for cubes of what is new (and of ``again``); returns the values looked at
        that no cube proves. ``published``: the pattern rendered, if the caller has it."""
        hidden = st.hidden
        only = None if self.seen is None else np.union1d(
            np.flatnonzero(hidden & ~self.seen), np.zeros(0, np.int64) if again is None else again)
        if published is None:
            published = render(self.cells, self.system, st.reason, self.policy,
                               st.show_known)
        built, left = cube_witnesses(published, self.system, self.policy,
                                     st.value.astype(float), only=only)
        self.fresh = self.fresh.merged(built)
        self.seen = hidden.copy()
        return left

    def take(self) -> _audit.Witnesses:
        """The witnesses found since the last call (an audit keeps those it uses)."""
        out, self.fresh = self.fresh, _audit.Witnesses(self.fresh.fingerprint)
        return out


def _cube_rounds(st: _State, cubes: _Cubes) -> None:
    """Withhold the published corners of the cheapest hypercube of each value no cube of
    withheld values proves yet, so that the audit can check most proofs instead of
    searching for them (see :mod:`cubes`). A value no cube could be bought for is not
    asked about again (full state 2024: the second round's complements for 40,324 values,
    3.8 s, covered 473, 338 of them such values), but it is searched for again: what the
    round withheld proves some (3,000 of 42,437), which the audit's LPs would otherwise
    have to prove (its first round took 17 s longer without)."""
    left = None
    tried = np.zeros(0, np.int64)  # values no cube could be bought for
    for _ in range(CUBE_ROUNDS):
        left = cubes.update(st, again=left)
        fresh = np.setdiff1d(left, tried)
        picks, covered = (st.cube_complements(fresh) if len(fresh)
                          else (fresh, np.zeros(0, bool)))
        n = st.hide(picks)
        if n:
            st.greedy()
        tried = np.union1d(tried, fresh[~covered])
        # Stop when the complements no longer pay: the first audit round looks for the
        # cubes of what was just withheld anyway.
        if n <= CUBE_MIN_GAIN * len(left):
            return


def _audit_rounds(st: _State, cells: pl.DataFrame, system: System, policy: Policy,
                  cubes: _Cubes | None = None, prior: _audit.Witnesses | None = None,
                  ) -> dict[int, _audit.Witnesses]:
    """Audit the pattern and withhold more until the audit passes; returns the witnesses of
    the audit that passed (see :class:`audit.Witnesses`).

    The first round audits the whole pattern, as the publication gate does (given the cube
    witnesses). Withholding more only removes constraints (nothing is ever published again),
    so a range proven wide enough stays so: a later round proves only what was withheld
    since and what failed (``settled``; full state 2024: rounds 2-5 took 4-8 s each, mostly
    to solve again the small groups' LPs and check again the points of values proven
    before), and the witnesses kept are those of every round. The final pattern's full
    audit is the publication gate's. The rounds run the audit's *regional*
    proofs (see :mod:`regions`: each proof region on its own, then a district with its
    partner districts, then a region with its partner region, then neighbourhoods), which
    are fast at any size; a value they leave
    unproven is answered like a disclosed one, with a complement in its own region (a
    district's share of a state total gets its partner there), so that the pattern becomes
    one they prove. A value failing again after its complement gets the complements an LP
    over its district, else its region, says let it move (:meth:`_State.freeing`); if none
    do, one in every relation it is in, and after GLOBAL_STRIKES failures in any region. When
    a round fails (nearly) the values the round before failed (:func:`stalled`), or fails
    only values that failed before and that nothing in their regions frees, or values that
    nothing has freed in UNFREED_ROUNDS rounds (or that failed 2 * STUBBORN_ROUNDS rounds
    and nothing frees), the next one solves their whole group exactly for up to
    EXACT_WHEN_STALLED values a group (a full-state year stalled on 69 Science values, round
    after round). Only when nothing is left to withhold near the failing values does a round
    run every proof the audit has.
    """
    strikes = np.zeros(len(st.reason), np.int64)  # rounds a value has failed in
    thorough = False
    witnesses: dict[int, _audit.Witnesses] = {}
    report = _audit.AuditReport()
    failed = None  # the values the last round failed (cubes are looked for again)
    stall = False
    solved_exactly = np.zeros(0, np.int64)  # values a stalled round already solved exactly
    # Values an exact round showed narrow (its LP finished), once, and how much was
    # withheld then: with more withheld since, they may be solved exactly once more.
    narrow_once = np.zeros(0, np.int64)
    narrow_at = 0
    exact_times = np.zeros(len(st.reason), np.int64)
    # Every round's pattern is of the same cells: their system and true values, built once.
    prepared = (system, _audit.hint_values(cells, system, cells))
    year = int(cells["year"][0]) if cells.height else 0
    settled = np.zeros(len(st.reason), bool)  # withheld values an audit round proved
    unfreed_rounds = np.zeros(len(st.reason), np.int64)  # rounds nothing freed a value in
    for rnd in range(MAX_AUDIT_ROUNDS):
        t0 = time.perf_counter()
        published = render(cells, system, st.reason, policy, st.show_known)
        audited = st.hidden.copy()
        given: dict[int, _audit.Witnesses] = {}  # the points of what is settled: not needed
        if cubes is not None:
            cubes.update(st, again=failed, published=published)
            given = {year: cubes.take()}
        if prior is not None and rnd == 0:  # (checked like any witness; a stranger is left out)
            given[year] = given[year].merged(prior) if year in given else prior
        # Not again for the same values: an exact round that left them unproven (the LP of
        # a group of 78,000 columns did not finish in its budget: full state 2024, one
        # school's ELA tested count, four exact rounds of 25-55 s in a row) would leave
        # them so again, and the ordinary rounds' complements are what frees them.
        # But an exact LP that finished and showed a value narrow may show it wide once
        # complements are added: such a value is solved exactly once more, after more is
        # withheld (full state 2026 with a school closed: a 5-student district's Hispanic
        # count, 1..3 in the exact round; the complements after it made it 1..27, which the
        # regional proofs never showed, and 46 rounds went by, one useless complement each,
        # until protect gave up).
        if len(narrow_once) and int(st.hidden.sum()) > narrow_at:
            solved_exactly = np.setdiff1d(solved_exactly, narrow_once)
            narrow_once = np.zeros(0, np.int64)
        exact_now = (failed is not None and stall and not thorough
                     and not np.isin(failed, solved_exactly).all())
        if exact_now and failed is not None:
            solved_exactly = np.union1d(solved_exactly, failed)
            exact_times[failed] += 1
        report = _audit.audit_cells(published, policy, hint=cells, thorough=thorough,
                                    witnesses=given, regional=not thorough,
                                    exact_count=EXACT_WHEN_STALLED if exact_now else None,
                                    system=prepared, settled=settled)
        for y, w in report.witnesses.items():
            witnesses[y] = witnesses[y].merged(w) if y in witnesses else w
        untrue = [f for f in report.failures if f.kind == "untrue"]
        if untrue:  # no complement mends it: the pattern's own codes say what is not so
            raise ProtectionBug(
                "protect() made a pattern whose reason codes do not fit the data (a bug in "
                "site_builder.disclosure; nothing was published):\n  " + untrue[0].render())
        found = [f for f in report.failures if f.kind != "inconsistent"]
        if exact_now:
            shown = np.array(sorted({f.var_id for f in found if f.var_id is not None
                                     and f.kind in ("exact", "approximate")}), np.int64)
            narrow_once = shown[exact_times[shown] == 1]
            narrow_at = int(st.hidden.sum())
        failing = _audit.AuditReport(failures=list(found))  # for the message if all else fails
        before = failed
        failed = np.array(sorted({f.var_id for f in found if f.var_id is not None}), np.int64)
        settled = settled | audited  # (a new array: the audit was handed the old one)
        settled[failed] = False
        # (Nearly) the same values failing as in the round before: complements near them do
        # not help their proofs, so the next round solves their whole group exactly for them.
        stall = stalled(before, failed)
        kinds = _audit.AuditReport(failures=found).counts()
        log.info("audit round %d (%s): %s in %.1f s, %d LP solves", rnd + 1,
                 "thorough" if thorough else
                 "regional, exact after a stall" if exact_now else "regional",
                 ", ".join(f"{v} {k}" for k, v in sorted(kinds.items())) or "nothing to fix",
                 time.perf_counter() - t0, report.n_lp_solves)
        if not found:
            return witnesses
        if len(failed):
            log.info("audit round %d: most failing values: %s", rnd + 1,
                     failure_summary(system, st.value, failed))
        if len(found) <= FEW_FAILURES:  # the last few: each in full, for whoever watches
            for f in found:
                log.info("audit round %d: %s", rnd + 1, f.render())
        # A value failing again after its complement: the complements an LP over its region
        # says let it move; where none do, one more in every relation it is in, not only in
        # the cheapest (one at a time can take many rounds).
        again = np.array(sorted({f.var_id for f in found if f.var_id is not None
                                 and f.kind != "derived_group" and strikes[f.var_id]}),
                         np.int64)
        for f in found:
            if f.var_id is not None:
                strikes[f.var_id] += 1
        n_again = 0
        # A numerator shown narrow (by an exact LP, not merely unproven) that has failed
        # STUBBORN_ROUNDS rounds loses its whole unit, as in the narrowing rounds: typically
        # a coded rate whose band is all the room it has, trimmed by what its neighbours
        # publish (full state 2024: a school's Not-English-learner Algebra I count, coded,
        # shown to range over 28..30 where it needs 3; 47 rounds of complements elsewhere
        # did not widen it).
        narrow = np.array(sorted({f.var_id for f in found if f.var_id is not None
                                  and f.kind in ("exact", "approximate")}), np.int64)
        stubborn = narrow[(strikes[narrow] >= STUBBORN_ROUNDS) & ~st.is_den[narrow]]
        if len(stubborn):
            n_again += st.hide_units(stubborn)
            log.info("audit round %d: %d narrow values that failed %d rounds lose their "
                     "whole unit (%d withheld)", rnd + 1, len(stubborn), STUBBORN_ROUNDS,
                     n_again)
        if len(again):
            # The cheapest complements that let each move in its region, by an LP; the
            # values no choice there frees get one more in every relation, as before.
            t1 = time.perf_counter()
            picks, unfreed = st.freeing(again, again[strikes[again] >= STUBBORN_ROUNDS],
                                        again[strikes[again] >= 2 * STUBBORN_ROUNDS])
            n_freeing = st.hide(picks)
            n_again += n_freeing
            freed = np.setdiff1d(again, unfreed)
            log.info("audit round %d: %d complements free %d of %d values failing again "
                     "(LPs over their regions, %.1f s)", rnd + 1, n_freeing, len(freed),
                     len(again), time.perf_counter() - t1)
            freed_ids = set(freed.tolist())
            found = [f for f in found if f.var_id not in freed_ids]
            again = unfreed
            # Values that nothing frees in UNFREED_ROUNDS rounds, or failing 2 *
            # STUBBORN_ROUNDS rounds that not even the state's grades free: what fails them
            # may be the regional proofs, not the pattern, so the next round solves their
            # groups exactly, before more rounds of complements (full state 2025 with
            # IPM_COLUMNS 40,000: 20 ELA and Math tested counts unproven in rounds 4-11; an
            # exact round proved all of them with nothing more withheld).
            # (Not a value an exact LP showed narrow: another would show it narrow again;
            # STUBBORN_ROUNDS withholds its unit.)
            unfreed_rounds[unfreed[~np.isin(unfreed, narrow)]] += 1
            hard = unfreed[(strikes[unfreed] >= 2 * STUBBORN_ROUNDS)
                           | (unfreed_rounds[unfreed] >= UNFREED_ROUNDS)]
            if len(hard) and not thorough and not np.isin(hard, solved_exactly).all():
                stall = True
            # (Not when STUBBORN_ROUNDS has just withheld a unit: the pattern around them
            # changed, so the next round is an ordinary one. Full state 2024: an exact round
            # showed the coded count narrow again, and only the complements after it freed
            # it.)
            if (not len(freed) and not n_again and len(found) == len(again)
                    and not thorough and not np.isin(again, solved_exactly).all()):
                # Every value failing failed before and nothing in its region frees it: what
                # would prove it is outside its region, so the next round solves its whole
                # group exactly, before any more complements (full state 2024: 13 values,
                # all protected, took two more rounds and 59 more rows withheld to find so).
                # But a numerator already shown narrow was solved exactly over its whole
                # group, and with nothing withheld before that round it would only be shown
                # narrow again: when such numerators are all that fail, they lose their
                # whole unit now (the remedy of STUBBORN_ROUNDS, without waiting for it:
                # full state 2024, a coded count shown to range over 28..30 lost its unit
                # after its 4th round; now after its 3rd, with the same pattern).
                n_units = (st.hide_units(again)
                           if np.isin(again, narrow).all() and not st.is_den[again].any()
                           else 0)
                if not n_units:
                    log.info("audit round %d: nothing in their regions frees them; "
                             "next, exact LPs", rnd + 1)
                    stall = True
                    continue
                n_again += n_units
                stall = False  # what stalled was these values: no exact round for them
                log.info("audit round %d: nothing in their regions frees %d values shown "
                         "narrow; they lose their whole unit (%d withheld)", rnd + 1,
                         len(again), n_units)
        if exact_now and len(again):
            # The state's own values that the exact round showed narrow and that nothing
            # frees (freeing never moves a state value): what pins them is the state's other
            # numbers, so they get the state's grade numbers as complements now, not after
            # rounds of complements elsewhere (toy states: rounds 4-13 of 15).
            sv = again[st.is_state[again] & np.isin(again, narrow)]
            if len(sv):
                st.keep_ok = True
                sv_ids = set(sv.tolist())
                n_sv = st.fix(_audit.AuditReport(
                    failures=[f for f in found if f.var_id in sv_ids]))
                st.keep_ok = False
                n_again += n_sv
                again = np.setdiff1d(again, sv)
                log.info("audit round %d: %d of the state's values shown narrow get %d of its "
                         "grade numbers as complements", rnd + 1, len(sv), n_sv)
        if len(again):
            st.anywhere[again[strikes[again] >= GLOBAL_STRIKES]] = True
            g = np.zeros(st.n_rel + st.n_reg_rel, bool)
            g[st.local_relations(again[~st.anywhere[again]])] = True
            g[np.unique(st.e_rel[np.isin(st.e_var, again[st.anywhere[again]])])] = True
            n_again += st.hide(st.cheapest(g))
        # The cheapest hypercube proves a value by construction (where the cube's bounds
        # hold: a value failing again goes the other way); the rest get one more complement
        # in one of their relations.
        fv = np.array(sorted({f.var_id for f in found if cubes is not None
                              and f.var_id is not None and strikes[f.var_id] == 1}), np.int64)
        picks, covered = st.cube_complements(fv) if len(fv) else (fv, np.zeros(0, bool))
        n_cubes = st.hide(picks)
        proven = set(fv[covered].tolist())
        report.failures = [f for f in found if f.var_id not in proven]
        # A value failing for the first time waits a round for complements of last resort.
        n_fix = st.fix(report, late=np.flatnonzero(strikes >= 2))
        if not n_fix + n_cubes + n_again:  # nothing else: every value may have them
            n_fix = st.fix(report)
        if not n_fix + n_cubes + n_again:
            if not thorough:  # nothing left to withhold near them: every proof decides
                thorough = True
                continue
            # Last resort: the state's own All-students numbers of a grade may be
            # complements; where none of them is left, those of all grades (the headline
            # every page compares with; in a small state, one district's numbers or nearly).
            st.keep_ok = True
            n_keep = st.fix(report)
            n_headline = 0
            if not n_keep:
                st.headline_ok = True
                n_keep = n_headline = st.fix(report)
                st.headline_ok = False
            st.keep_ok = False
            shown = st.show_pinned(found) if not n_keep and st.natural is not None \
                else np.zeros(0, np.int64)
            if len(shown):
                log.info("audit round %d: %d withheld values pinned by numbers the earlier "
                         "release published are published (withheld, they hide nothing)",
                         rnd + 1, len(shown))
            elif not n_keep:
                # Not the report's first line: its counts are of no audit of the year.
                raise ProtectionError(
                    "could not protect: nothing left to withhold stops these disclosures:\n"
                    + "\n".join(failing.render(limit=10).splitlines()[1:]))
            elif n_headline:
                log.warning("audit round %d: %d of the state's All-students numbers of all "
                            "grades withheld: nothing else was left near the failing values",
                            rnd + 1, n_headline)
            else:
                log.info("audit round %d: %d of the state's All-students numbers of a grade "
                         "withheld, nothing else was left near the failing values",
                         rnd + 1, n_keep)
        st.greedy()
        thorough = False
    raise ProtectionError(f"still failing after {MAX_AUDIT_ROUNDS} audit rounds:\n"
                          + report.render(limit=10))


def failure_summary(system: System, value: np.ndarray, failed: np.ndarray,
                    top: int = 4) -> str:
    """The commonest kinds of failing value (level, subject, series, and whether its true
    value is 0), for the round log: where protection struggles, in a line."""
    v = system.vars[failed].select("level", "subject", "series").with_columns(
        pl.Series("zero", value[failed] == 0))
    counts = v.group_by("level", "subject", "series", "zero").len().sort(
        ["len", "level", "subject", "series", "zero"],
        descending=[True, False, False, False, False])
    parts = [f"{n:,} {level} {subject + ' ' if subject else ''}{series}{' (at 0)' if z else ''}"
             for level, subject, series, z, n in counts.head(top).iter_rows()]
    rest = int(counts["len"][top:].sum())
    return ", ".join(parts) + (f", {rest:,} others" if rest else "")


def render(cells: pl.DataFrame, system: System, reason: np.ndarray,
           policy: Policy, shown: np.ndarray | None = None) -> pl.DataFrame:
    """Published rows for a suppression pattern (reason per variable).

    A withheld row's ``n_students`` is empty, except where it is a published denominator
    of ``shown`` (a kept year's head counts that an earlier release published) that no
    other row shows: then every row of it shows it."""
    sym = policy.display.symbol
    den = system.den_of_row.to_numpy()
    num = system.num_of_row.fill_null(-1).to_numpy()
    is_rate = num >= 0
    r_den = reason[den]
    r_num = np.where(is_rate, reason[np.maximum(num, 0)], NONE)
    row_r = np.where(is_rate, r_num, r_den)
    show_n = np.zeros(len(den), bool)
    if shown is not None and shown.any():
        visible = np.zeros(len(reason), bool)
        visible[den[(row_r == NONE) | (row_r >= TOP)]] = True
        show_n = shown[den] & (r_den == NONE) & ~visible[den]
    bands = sorted(policy.coding_bands, key=lambda b: b.min_n)
    starts = np.array([b.min_n for b in bands])
    d = cells["n_students"].to_numpy()
    n = cells["n_meeting"].fill_null(0).to_numpy()
    bi = np.clip(np.searchsorted(starts, d, side="right") - 1, 0, len(bands) - 1)
    # Percent with one decimal, rounded half up, in integer arithmetic.
    tenths = (2000 * n + np.maximum(d, 1)) // (2 * np.maximum(d, 1))
    out = cells.with_columns(
        pl.Series("_r", row_r), pl.Series("_rate", is_rate),
        pl.Series("_tenths", tenths), pl.Series("_bottom", np.array([b.bottom for b in bands])[bi]),
        pl.Series("_top", np.array([b.top for b in bands])[bi]), pl.Series("_show_n", show_n))
    withheld = pl.col("_r").is_in([PRIMARY, COMPLEMENTARY])
    coded = pl.col("_r").is_in([TOP, BOTTOM])
    zero_d = pl.col("_rate") & (pl.col("n_students") == 0)
    out = out.with_columns(
        pl.when(withheld & ~pl.col("_show_n")).then(None).otherwise(pl.col("n_students"))
        .alias("n_students"),
        pl.when(withheld | coded).then(None).otherwise(pl.col("n_meeting")).alias("n_meeting"),
        pl.when(pl.col("_rate") & ~withheld & ~coded & ~zero_d)
        .then((pl.col("_tenths") / 10).round(1)).otherwise(None).alias("rate"),
        pl.when(withheld).then(pl.lit(sym))
        .when(pl.col("_r") == TOP).then("≥" + pl.col("_top").cast(pl.String) + "%")
        .when(pl.col("_r") == BOTTOM).then("≤" + pl.col("_bottom").cast(pl.String) + "%")
        .when(zero_d).then(pl.lit(policy.display.no_students))
        .when(pl.col("_rate")).then(
            (pl.col("_tenths") // 10).cast(pl.String) + "."
            + (pl.col("_tenths") % 10).cast(pl.String) + "%")
        .otherwise(pl.col("n_students").map_elements(lambda x: f"{x:,}", pl.String))
        .alias("display"),
        (pl.col("_r") != NONE).alias("suppressed"),
        # (A gather of five names: from a NumPy array of strings, 0.08 s a full-state render.)
        pl.Series("reason", REASON_NAMES, pl.String)[row_r],
    )
    return out.select([*RAW_SCHEMA, *PUBLISHED_EXTRA]).cast(
        {**RAW_SCHEMA, **PUBLISHED_EXTRA})  # type: ignore[arg-type, dict-item]
