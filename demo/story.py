"""Who is in the demo site's albums, when, and what goes wrong on the site.

The cast is ten people of the FG-NET aging database (demo/photos/fgnet,
`016A14.JPG` = person 016 at age 14), treated as one school class born in
BIRTH_YEAR: a portrait taken at age A belongs to the album of year
BIRTH_YEAR + A, so everyone ages from album to album (10 to 19 years old,
2005 to 2014). Person 016, who wears glasses from childhood on, is the one
the demo looks for; 040 wears similar glasses all through school (the
look-alike friend). 016's photos at 7 and 8 are the references
(demo/references), never shown on the site.

The album list is written out by hand so the demo reads like a real class's
page; which portraits share a photo is drawn from a seeded RNG per album.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

DEMO = Path(__file__).resolve().parent
FGNET_DIR = DEMO / "photos" / "fgnet"
WIDER_DIR = DEMO / "photos" / "wider_face"

BIRTH_YEAR = 1995
TARGET = "016"            # the person the demo finds
LOOKALIKE = "040"         # wears the same kind of glasses

# WIDER FACE photos of strangers, shown as whole photos (distractors).
PICNIC = "22_Picnic_Picnic_22_357.jpg"
RIVER = "29_Students_Schoolkids_Students_Schoolkids_29_491.jpg"


@dataclass(frozen=True)
class Portrait:
    file: str              # FG-NET file name, e.g. "016A14.JPG"
    subject: str           # "016"
    age: int               # 14

    @property
    def path(self) -> Path:
        return FGNET_DIR / self.file


@dataclass
class Album:
    id: int
    title: str
    date: date
    scene: str                       # background: winter, spring, summer, autumn, indoor
    show_date: bool = True           # fault: the site shows no date for this album
    deleted: int = 0                 # fault: the displayed count still counts N deleted photos
    strangers: list[str] = field(default_factory=list)   # WIDER FACE photos added to the album
    landscapes: int = 0              # photos with nobody in them
    faults: tuple[str, ...] = ()     # photo faults, see Shot.fault


@dataclass
class Shot:
    """One photo of an album: portraits side by side, a stranger crowd, or a landscape."""
    kind: str                            # "group", "crowd" or "landscape"
    people: list[Portrait] = field(default_factory=list)
    source: str = ""                     # the WIDER FACE file for a crowd shot
    # "" or: "missing" (the page links it, the server answers 404; put on a
    # landscape, so nobody is lost), "flaky" (503 on the first request, fine when
    # retried), "exif_rotated" (pixels stored turned, EXIF Orientation=6 turns
    # them back; put on a photo of the person we look for).
    fault: str = ""

    @property
    def subjects(self) -> list[str]:
        return [p.subject for p in self.people]


ALBUMS = [
    Album(501, "Новогодняя ёлка в школе", date(2005, 12, 27), "indoor"),
    Album(602, "Поход на озеро", date(2006, 6, 14), "summer", strangers=[PICNIC], landscapes=1),
    Album(703, "День рождения Саши", date(2007, 3, 3), "indoor"),
    Album(804, "Осенний кросс", date(2008, 10, 12), "autumn", landscapes=1),
    Album(905, "Масленица", date(2009, 3, 1), "winter", deleted=2),
    Album(1006, "Летний лагерь", date(2010, 7, 24), "summer", show_date=False, landscapes=1),
    Album(1107, "Турслёт", date(2011, 9, 17), "autumn", strangers=[RIVER], landscapes=1, faults=("missing",)),
    Album(1208, "Новый год у Лены", date(2012, 12, 30), "indoor", faults=("exif_rotated",)),
    Album(1305, "Последний звонок", date(2013, 5, 25), "spring", faults=("flaky",)),
    Album(1402, "Встреча выпускников", date(2014, 2, 21), "winter", strangers=[PICNIC, RIVER]),
]

_NAME = re.compile(r"^(\d{3})A(\d{2})[a-z]?\.JPG$", re.IGNORECASE)


def portraits() -> list[Portrait]:
    """Every bundled FG-NET portrait, in file-name order."""
    out = []
    for path in sorted(FGNET_DIR.iterdir()):
        m = _NAME.match(path.name)
        if m:
            out.append(Portrait(path.name, m.group(1), int(m.group(2))))
    return out


def shots(album: Album, cast: list[Portrait]) -> list[Shot]:
    """The album's photos in site order; deterministic for a given album and cast.

    Everyone of the right age is in the first photo (two when more than four
    people), then in one more photo alone or with one or two others, so each
    person appears about twice per album, as at a real event.
    """
    rng = random.Random(f"demo-album-{album.id}")
    present = [p for p in cast if BIRTH_YEAR + p.age == album.date.year]
    rng.shuffle(present)
    result: list[Shot] = []
    halves = [present] if len(present) <= 4 else [present[: len(present) // 2], present[len(present) // 2:]]
    result += [Shot("group", list(h)) for h in halves if h]
    again = list(present)
    rng.shuffle(again)
    while again:
        k = min(len(again), rng.choice([1, 2, 2, 3]))
        result.append(Shot("group", again[:k]))
        again = again[k:]
    # The look-alike and the person we look for stand side by side at least once.
    both = {TARGET, LOOKALIKE} <= {p.subject for p in present}
    if both and not any({TARGET, LOOKALIKE} <= set(s.subjects) for s in result):
        pair = [p for p in present if p.subject in (TARGET, LOOKALIKE)]
        result.append(Shot("group", pair))
    result += [Shot("crowd", source=name) for name in album.strangers]
    result += [Shot("landscape") for _ in range(album.landscapes)]
    rng.shuffle(result)
    for fault in album.faults:
        if fault == "missing":       # lose nobody of the cast to the 404
            shot = next(s for s in result if s.kind == "landscape")
        elif fault == "exif_rotated":
            shot = next(s for s in result if TARGET in s.subjects)
        else:
            shot = result[1]
        shot.fault = fault
    return result
