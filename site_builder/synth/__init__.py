"""Synthetic MOSIS-like student extracts, calibrated to real public Missouri (DESE) data.

``generate(out, seed=..., years=..., scale=..., profile=..., canaries=..., fmt=...)`` writes an
extract in exactly the shape of :mod:`site_builder.schema`. No real student is in it: LEA codes,
names, counties and enrollment come from public DESE files (``data/``), students are simulated.

How it works (one vectorized step per year; see the modules):

* :mod:`.directory`: every 2024 LEA and its buildings (real building names);
* :mod:`.students`: the enrollment panel, run from three years before the first requested year
  (burn-in, so IDs, grade progressions and graduation cohorts have history) to one year after
  the last (to know who repeats grade 12), with targets equal to real K-12 enrollment x
  ``scale`` (2025 extrapolates the 2022-24 trend) and each year's published race, free/reduced
  lunch, EL and IEP shares (2017-2024; the nearest year outside);
* :mod:`.assessment`: MAP results from a latent-ability model; :mod:`.graduation`: cohorts;
* :mod:`.names`: IDs, names, birth dates, SSNs (fake areas 900-998; 3% not held).

Bad arguments raise :class:`SynthError` (a ``ReportcardError``: the CLI prints it plainly).

Same seed, same arguments -> byte-identical files (sub-streams of ``PCG64(seed)``, sorted rows,
no timestamps). Asking for later years leaves the earlier ones as they were (``--years
2021-2026`` writes the same 2021-2025 files as ``--years 2021-2025``; each year's test scores
come from a stream of their own, since generator version 2), as a real extract's history
is: publishing a new year over a live site then revises nothing already published.

Profiles
--------
``state``
    All 561 LEAs of 2024 (517 districts, 36 charters, 8 special), ~880k students a year at
    ``scale=1``. ``--scale 0.02`` keeps every LEA but shrinks enrollment (quick tests).
``tiny``
    Five real northeast-Missouri districts at their real size (``scale`` is ignored), about
    3,400 students a year, generated in about a second. Each is there to exercise something:

    * ``001090`` ADAIR CO. R-I (about 210 students): a small K-12 district, elementary + high
      building; most groups are far below 30;
    * ``001091`` KIRKSVILLE R-III (about 2,350): the largest; several buildings, groups of every
      size; Hispanic students forced to exactly **31** in the focus year (just over 30);
    * ``001092`` ADAIR CO. R-II (about 150): a **single school** (one K-12 building), so the
      school and the district publish the same numbers;
    * ``002089`` NORTH ANDREW CO. R-VI (about 290): Hispanic students forced to exactly **29** in
      the focus year (just under 30);
    * ``002090`` AVENUE CITY R-IX (about 200): a **K-8 district** (no high school, no EOC tests,
      no graduation cohort).

    The focus year is 2024 when it is among the years, else the last year.

Canaries
--------
``canaries=N`` turns N ordinary students (enrolled in grades 3-5 in the first year, so they take
tests) into recognisable canaries: ``student_id`` 99900000NN, first name ``Canary``, last name
``ZzyzxNNNN``, SSN 99900NNNN, birth date January 1 of their natural birth year. ``canaries.json``
at the extract root lists them with where they were enrolled each year. Regular IDs never start
with 999 and regular SSNs use areas 900-998, so canary values occur nowhere else.
"""

from __future__ import annotations

from site_builder.synth.generate import GENERATOR_VERSION, SynthError, generate

__all__ = ["GENERATOR_VERSION", "SynthError", "generate"]
