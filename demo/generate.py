"""Build the demo album site from the bundled photos.

    python -m demo.generate --out demo-output [--truth demo/truth.csv]

Writes, under --out:
  site/         the static site (pages, full-size photos, thumbnails), served by demo/serve.py
  faults.json   what demo/serve.py does wrong on purpose (503 once, ...)
  truth.csv     who is in every photo the site links (url path, subjects: FG-NET ids)

The same bundled photos and Pillow version give the same bytes, so a rebuild
never looks like new photos to the crawler. `--truth` also writes the truth
to that file (that is how demo/truth.csv is made).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
import shutil
from pathlib import Path

from demo import pages, pictures, story

DEMO = Path(__file__).resolve().parent
TRUTH_FIELDS = ["url", "subjects", "sources"]


def build(out: Path) -> list[dict]:
    """Write site/, faults.json and truth.csv under `out`; return the truth rows."""
    site = out / "site"
    if site.exists():
        shutil.rmtree(site)
    for folder in ("img", "thumb", "static"):
        (site / folder).mkdir(parents=True)
    cast = story.portraits()
    album_pages, truth, faults = [], [], {"flaky": {}, "missing": []}
    for album in story.ALBUMS:
        rng = random.Random(f"demo-pictures-{album.id}")
        links = []
        for pos, shot in enumerate(story.shots(album, cast)):
            name = hashlib.sha1(f"demo/{album.id}/{pos}".encode()).hexdigest()[:16]
            link = pages.PhotoLink(page=f"/photo/{album.id}_{pos + 1}/", image=f"/img/{name}.jpg",
                                   thumb=f"/thumb/{name}.jpg")
            img = _picture(shot, album, rng)
            (site / link.thumb.lstrip("/")).write_bytes(pictures.thumbnail(img))
            if shot.fault == "missing":
                faults["missing"].append(link.image)      # no file: plain 404
            else:
                data = pictures.jpeg(img, exif_rotated=shot.fault == "exif_rotated")
                (site / link.image.lstrip("/")).write_bytes(data)
            if shot.fault == "flaky":
                faults["flaky"][link.image] = 1
            links.append(link)
            truth.append({"url": link.image, "subjects": ";".join(sorted(set(shot.subjects))),
                          "sources": ";".join([p.file for p in shot.people] or [shot.source or "landscape"])})
        album_pages.append(pages.AlbumPage(
            id=album.id, title=album.title, date=album.date if album.show_date else None,
            shown_count=len(links) + album.deleted, cover=links[0].thumb, photos=links))
    for url, text in pages.site_pages(album_pages).items():
        path = site / url.lstrip("/")
        if url.endswith("/"):
            path = path / "index.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (out / "faults.json").write_text(json.dumps(faults, indent=1, sort_keys=True) + "\n")
    write_truth(out / "truth.csv", truth)
    return truth


def sources_digest() -> str:
    """A digest of everything the site is made from: this package's code and the bundled photos."""
    h = hashlib.sha1()
    for path in sorted(DEMO.glob("*.py")) + sorted(story.FGNET_DIR.iterdir()) + sorted(story.WIDER_DIR.iterdir()):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def build_if_changed(out: Path) -> tuple[int, bool]:
    """Build unless `out` already holds the site of these very sources; (photos, rebuilt)."""
    stamp, digest = out / "site" / ".sources", sources_digest()
    truth = out / "truth.csv"
    if stamp.is_file() and stamp.read_text() == digest and truth.is_file() and (out / "faults.json").is_file():
        return len(truth.read_text(encoding="utf-8").splitlines()) - 1, False
    rows = build(out)
    stamp.write_text(digest)            # last: a build killed half-way is redone
    return len(rows), True


def _picture(shot: story.Shot, album: story.Album, rng: random.Random):
    if shot.kind == "crowd":
        return pictures.crowd_photo(story.WIDER_DIR / shot.source)
    background = pictures.scene(album.scene, rng)
    if shot.kind == "landscape":
        return background
    return pictures.group_photo(background, [p.path for p in shot.people], rng)


def truth_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=TRUTH_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_truth(path: Path, rows: list[dict]) -> None:
    path.write_text(truth_text(rows), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="folder for site/, faults.json and truth.csv")
    ap.add_argument("--truth", type=Path, help="also write the truth here (e.g. demo/truth.csv)")
    args = ap.parse_args(argv)
    rows = build(args.out)
    if args.truth:
        write_truth(args.truth, rows)
    print(f"{len(story.ALBUMS)} albums, {len(rows)} photos -> {args.out / 'site'}")


if __name__ == "__main__":
    main()
