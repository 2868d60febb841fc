"""Identities for synthetic students: IDs, names, birth dates, SSNs.

Nothing here is a real person. IDs are a bijection of the student's index into
1000000000..9989999999 (so the ``999...`` range stays free for canaries); SSNs use area numbers
900-998, which the Social Security Administration never issues (999 is kept for canaries).
"""

from __future__ import annotations

import numpy as np
import polars as pl


def _words(text: str) -> list[str]:
    return text.split()


FEMALE = _words("""
Olivia Emma Ava Sophia Isabella Charlotte Amelia Mia Harper Evelyn Abigail Emily Ella Elizabeth
Camila Luna Sofia Avery Mila Aria Scarlett Penelope Layla Chloe Victoria Madison Eleanor Grace
Nora Riley Zoey Hannah Hazel Lily Ellie Violet Lillian Zoe Stella Aurora Natalie Emilia Everly
Leah Aubrey Willow Addison Lucy Audrey Bella Nevaeh Claire Skylar Brooklyn Paisley Savannah Anna
Caroline Genesis Aaliyah Kennedy Kinsley Allison Maya Sarah Madelyn Adeline Alexa Ariana Elena
Gabriella Naomi Alice Sadie Hailey Eva Emery Autumn Quinn Piper Ruby Serenity Willa Jade Kaylee
Jasmine Destiny Makayla Brianna Jordyn Mariah Kylie Alyssa Taylor Morgan Faith Trinity Ximena
Valeria Daniela Mariana Jimena Guadalupe Mei Linh Fatima Amina Aisha Imani Jada Nia""")
MALE = _words("""
Liam Noah Oliver Elijah William James Benjamin Lucas Henry Alexander Mason Michael Ethan Daniel
Jacob Logan Jackson Levi Sebastian Mateo Jack Owen Theodore Aiden Samuel Joseph John David Wyatt
Matthew Luke Asher Carter Julian Grayson Leo Jayden Gabriel Isaac Lincoln Anthony Hudson Dylan
Ezra Thomas Charles Christopher Jaxon Maverick Josiah Isaiah Andrew Elias Joshua Nathan Caleb
Ryan Adrian Miles Eli Nolan Christian Aaron Cameron Ezekiel Colton Luca Landon Hunter Jonathan
Santiago Axel Easton Cooper Jeremiah Angel Roman Connor Jameson Robert Greyson Jordan Ian Carson
Jaxson Leonardo Nicholas Dominic Austin Everett Brooks Xavier Kai Jose Parker Adam Jace Wesley
Kayden Silas Bennett Declan Waylon Weston Evan Emmett Micah Ryder Beau Damian Brayden Gavin
Tyler Diego Carlos Juan Luis Miguel Jesus Omar Ahmed Minh Duc Malik Jamal Darius Andre Marcus
Terrell""")
HISPANIC_FEMALE = _words("""
Ximena Valeria Daniela Mariana Jimena Guadalupe Sofia Camila Isabella Valentina Lucia Gabriela
Andrea Fernanda Paola""")
HISPANIC_MALE = _words("""
Santiago Mateo Diego Carlos Juan Luis Miguel Jesus Jose Angel Alejandro Adrian Emiliano Leonardo
Gael""")
LAST = _words("""
Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Thomas Taylor Moore Jackson
Martin Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Hill
Green Adams Nelson Baker Hall Campbell Mitchell Carter Roberts Phillips Evans Turner Parker
Edwards Collins Stewart Morris Murphy Cook Rogers Morgan Cooper Peterson Bailey Reed Kelly
Howard Cox Ward Richardson Watson Brooks Wood James Bennett Gray Hughes Price Sanders Myers Long
Ross Foster Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Fisher
Simmons Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace West Cole Hayes
Bryant Gibson Ellis Stevens Murray Ford Marshall Owens Harrison McDonald Woods Washington
Kennedy Wells Henry Freeman Webb Tucker Burns Crawford Olson Simpson Porter Hunter Gordon Shaw
Snyder Mason Dixon Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Fox Warren
Mills Meyer Rice Schmidt Daniels Ferguson Nichols Stephens Weaver Ryan Gardner Payne Grant Dunn
Kelley Spencer Hawkins Arnold Pierce Hansen Peters Hart Bradley Knight Elliott Cunningham Duncan
Armstrong Hudson Carroll Lane Riley Andrews Ray Berry Perkins Hoffman Johnston Matthews Richards
Willis Carpenter Lawrence""")
HISPANIC_LAST = _words("""
Garcia Rodriguez Martinez Hernandez Lopez Gonzalez Perez Sanchez Ramirez Torres Flores Rivera
Gomez Diaz Cruz Reyes Morales Gutierrez Ortiz Ramos Chavez Mendoza Ruiz Alvarez Castillo Jimenez
Gonzales Vasquez Romero Moreno Herrera Medina Aguilar Castro Fernandez Vargas Guzman Mendez
Silva Munoz Salazar Garza Soto Vazquez Santos Alvarado Delgado Pena Contreras Sandoval""")
ASIAN_LAST = _words("""
Lee Nguyen Kim Patel Tran Chen Pham Le Wang Liu Zhang Park Choi Shah Singh Vang Xiong
Huynh""")

ID_BASE = 1_000_000_000
ID_SPAN = 8_990_000_000  # ids stay below 9_990_000_000: 999... is for canaries
_ID_MULT = 2_654_435_761  # odd and coprime with ID_SPAN: a bijection mod ID_SPAN


def _zipf_weights(n: int) -> np.ndarray:
    w = 1.0 / (np.arange(n) + 8.0)
    return w / w.sum()


def student_ids(index: np.ndarray, salt: int) -> np.ndarray:
    """Distinct 10-digit IDs for distinct indices (an affine bijection mod ID_SPAN)."""
    x = (index.astype(np.uint64) * np.uint64(_ID_MULT) + np.uint64(salt % ID_SPAN)) % np.uint64(
        ID_SPAN)
    return (x + np.uint64(ID_BASE)).astype(np.int64)


FIRST = FEMALE + MALE + HISPANIC_FEMALE + HISPANIC_MALE
"""First names; a student's first name is an index into this list."""
SURNAMES = LAST + HISPANIC_LAST + ASIAN_LAST
_HI, _AS = 3, 1  # race codes (schema.RACES order: AM AS BL HI MU PI WH)


def _pick(rng: np.random.Generator, names: list[str], n: int, offset: int) -> np.ndarray:
    return offset + rng.choice(len(names), size=n, p=_zipf_weights(len(names)))


def draw_first(rng: np.random.Generator, male: np.ndarray, race: np.ndarray) -> np.ndarray:
    """Index into FIRST: about half of Hispanic students get a Spanish first name."""
    n = len(male)
    o_m, o_hf = len(FEMALE), len(FEMALE) + len(MALE)
    o_hm = o_hf + len(HISPANIC_FEMALE)
    f = _pick(rng, FEMALE, n, 0)
    m = _pick(rng, MALE, n, o_m)
    hf = _pick(rng, HISPANIC_FEMALE, n, o_hf)
    hm = _pick(rng, HISPANIC_MALE, n, o_hm)
    spanish = (race == _HI) & (rng.random(n) < 0.5)
    return np.where(male, np.where(spanish, hm, m), np.where(spanish, hf, f)).astype(np.int32)


def draw_last(rng: np.random.Generator, race: np.ndarray) -> np.ndarray:
    """Index into SURNAMES: most Hispanic and many Asian students get a matching surname."""
    n = len(race)
    general = _pick(rng, LAST, n, 0)
    hisp = _pick(rng, HISPANIC_LAST, n, len(LAST))
    asian = _pick(rng, ASIAN_LAST, n, len(LAST) + len(HISPANIC_LAST))
    u = rng.random(n)
    out = np.where((race == _HI) & (u < 0.75), hisp,
                   np.where((race == _AS) & (u < 0.6), asian, general))
    # A few non-Hispanic students have Spanish surnames too.
    out = np.where((race != _HI) & (u > 0.97), hisp, out)
    return out.astype(np.int32)


SSN_MISSING = 0.03
"""Share of students whose district holds no SSN (the column is nullable)."""


SSN_SPAN = 99_000_000            # 900000000..998999999: areas 900-998
_SSN_MULT = 2_654_435_761 % SSN_SPAN


def draw_ssn(rng: np.random.Generator, index: np.ndarray, salt: int) -> np.ndarray:
    """Distinct SSNs for distinct students (a bijection of the student index, like the IDs),
    in areas 900-998: never issued, and 999 stays free for canaries. -1 = not held."""
    x = (index.astype(np.int64) * _SSN_MULT + salt) % SSN_SPAN
    return np.where(rng.random(len(index)) < SSN_MISSING, -1, 900_000_000 + x)


def first_name_series(first: np.ndarray) -> pl.Series:
    return pl.Series(FIRST).gather(pl.Series(first.astype(np.int64)))


def last_name_series(last: np.ndarray) -> pl.Series:
    return pl.Series(SURNAMES).gather(pl.Series(last.astype(np.int64)))
