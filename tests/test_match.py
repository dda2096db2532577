"""python -m faces.match: index, references, expansion and results together; and its small parts."""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import FGNET, REPO
from faces.config import UserError
from faces.expand import Expansion, Params
from faces.match import hits, photo_dates, round_summary, search, summary_lines
from faces.store import FaceTable, PhotoInfo


def table_of(embeddings, photo_index, dates):
    photos = [PhotoInfo(Path(f"/data/photos/{i}.jpg"), f"http://site/media/{i}.jpg", d, f"c{i}")
              for i, d in enumerate(dates)]
    n = len(photo_index)
    return FaceTable(photos, np.asarray(embeddings, np.float32), np.asarray(photo_index),
                     np.arange(4 * n).reshape(n, 4), np.ones(n, np.float32))


def test_hits_carry_photo_box_score_and_round():
    table = table_of(np.zeros((3, 2)), [0, 0, 1], [dt.date(2010, 5, 1), None])
    result = Expansion(accepted=np.array([False, True, True]), round=np.array([-1, 0, 2]),
                       score=np.array([0.3, 0.9, 0.7]), order=np.array([2, 1]), near_misses=np.array([0]))
    out = hits(table, result)
    assert [(h.path.name, h.url, h.album_date, h.box, h.score, h.iteration) for h in out.found] == [
        ("1.jpg", "http://site/media/1.jpg", None, (8, 9, 10, 11), 0.7, 2),
        ("0.jpg", "http://site/media/0.jpg", dt.date(2010, 5, 1), (4, 5, 6, 7), 0.9, 0)]
    assert [(h.path.name, h.box, h.score) for h in out.near_misses] == [("0.jpg", (0, 1, 2, 3), 0.3)]
    assert out.by_round == Counter({0: 1, 2: 1})
    assert photo_dates(table)[:2].tolist() == [dt.date(2010, 5, 1).toordinal()] * 2
    assert np.isnan(photo_dates(table)[2])


def test_a_photo_is_found_once_however_many_of_its_faces_joined():
    """The seed strategy may accept several faces of one photo: matches.csv and every count are per photo."""
    table = table_of(np.zeros((4, 2)), [0, 0, 0, 1], [None, None])
    result = Expansion(accepted=np.array([True, True, True, False]), round=np.array([0, 1, 2, -1]),
                       score=np.array([0.6, 0.9, 0.7, 0.4]), order=np.array([0, 1, 2]), near_misses=np.array([3]))
    out = hits(table, result)
    assert [(h.path.name, h.box, h.score, h.iteration) for h in out.found] == [("0.jpg", (4, 5, 6, 7), 0.9, 1)]
    assert out.by_round == Counter({1: 1}) and out.copies == 0
    lines = summary_lines(out, table, 2, "seed", 3.2)
    assert lines[0] == "Found 1 photo of the person, one row each in matches.csv: 1 in round 1."
    assert lines[1] == "Searched 4 faces in 2 indexed photo files with 2 reference photos, strategy seed, in 3 s."
    assert lines[2].startswith("Near misses: 1 photo that did not pass (best score 0.40; the bar is 0.50), "
                               "shown in the report")


def test_byte_identical_files_are_each_found_and_said_to_be_the_same_photo():
    table = table_of(np.zeros((3, 2)), [0, 1, 2], [dt.date(2006, 6, 14), dt.date(2014, 2, 21), None])
    table.photos[1] = PhotoInfo(table.photos[1].path, table.photos[1].url, table.photos[1].album_date, "c0")
    result = Expansion(accepted=np.array([True, True, True]), round=np.array([0, 0, 1]),
                       score=np.array([0.8, 0.8, 0.6]), order=np.array([0, 1, 2]))
    out = hits(table, result)
    assert [(h.path.name, [p.name for p in h.same_as]) for h in out.found] == [
        ("0.jpg", ["1.jpg"]), ("1.jpg", ["0.jpg"]), ("2.jpg", [])]
    assert out.copies == 1
    lines = summary_lines(out, table, 1, "default", 0)
    assert lines[0] == "Found 3 photos of the person, one row each in matches.csv: 2 in round 0 (like a reference photo), 1 in round 1."
    assert lines[1].startswith("1 of these is a byte-identical copy of another found photo")
    assert lines[2] == ("Searched 3 faces in 3 indexed photo files (2 distinct: 1 file is a copy of another) "
                        "with 1 reference photo, strategy default, in 0 s.")


def test_search_runs_expand_on_the_table_and_refuses_other_dimensions():
    table = table_of([[0.3, 0.0], [0.0, 0.9]], [0, 1], [None, None])
    result = search(table, np.zeros((1, 2), np.float32), None, Params())
    assert result.accepted.tolist() == [True, False]
    with pytest.raises(UserError, match="2-d embeddings, the references 3-d"):
        search(table, np.zeros((1, 3), np.float32), None, Params())


def test_round_summary():
    assert round_summary(Counter()) == ""
    assert round_summary(Counter({0: 12, 1: 30, 2: 5, 5: 4})) == \
        "12 in round 0 (like a reference photo), 30 in round 1, 9 in rounds 2-5"
    assert round_summary(Counter({1: 2, 3: 1})) == "2 in round 1, 1 in round 3"


def run_match(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "faces.match", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def test_a_missing_reference_folder_stops_before_any_work(tmp_path):
    (tmp_path / "settings.yaml").write_text("data: data\nfaces:\n  references: refs\n", encoding="utf-8")
    out = run_match(tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == f"error: {tmp_path / 'refs'}: reference folder not found"
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("output", ["data/photos", "refs", "."])
def test_an_output_folder_among_the_photos_stops_before_any_work(tmp_path, output):
    (tmp_path / "settings.yaml").write_text("data: data\nfaces:\n  references: refs\n", encoding="utf-8")
    for folder in ("data/photos", "refs"):
        (tmp_path / folder).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(tmp_path / folder / "a.jpg")
    out = run_match(tmp_path, "--output", output)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith(f"error: --output: {(tmp_path / output).resolve()} ") and out.stderr.count("\n") == 1
    assert not (tmp_path / "data" / "faces.sqlite").exists()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["a.jpg", "a.jpg", "settings.yaml"]


# --- the whole command on real photos -----------------------------------------------------------

PERSON = ["026A11.JPG", "026A13.JPG", "026A15.JPG", "026A17.JPG", "026A18.JPG", "026A19.JPG"]
OTHERS = ["035A12.JPG", "035A16.JPG", "030A16.JPG", "030A20.JPG", "009A13.JPG", "009A18.JPG"]


def portraits(names: list[str], height: int = 300) -> tuple[Image.Image, list[int]]:
    """FG-NET portraits side by side on a grey canvas, each `height` px tall; and where each starts (x)."""
    ims = []
    for name in names:
        with Image.open(FGNET / "images" / name) as im:
            im = im.convert("RGB")
            ims.append(im.resize((im.width * height // im.height, height)))
    canvas = Image.new("RGB", (sum(i.width for i in ims) + 20 * len(ims), height + 40), (120, 120, 120))
    x, starts = 10, []
    for im in ims:
        canvas.paste(im, (x, 20))
        starts.append(x)
        x += im.width + 20
    return canvas, starts


@pytest.mark.slow
def test_match_finds_the_person_across_years_and_writes_the_results(bench_kit, deepface_home, tmp_path):
    data = tmp_path / "data"
    photos = []   # (relative path, url, album date, shows the person)
    person_x = []  # where the person's portrait starts and ends, in each photo that shows them
    layout = [[PERSON[0], OTHERS[0]], [OTHERS[1]], [OTHERS[2], PERSON[1]], [PERSON[2]],
              [OTHERS[3], OTHERS[4]], [PERSON[3], OTHERS[5]], [PERSON[4]], [OTHERS[0], PERSON[5]]]
    for n, names in enumerate(layout):
        year = 2007 + n
        rel = f"photos/{year}-05-01 Поход/{n:03d}.jpg"
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        canvas, starts = portraits(names)
        canvas.save(data / rel, quality=92)
        for name, x, end in zip(names, starts, starts[1:] + [canvas.width]):
            if name in PERSON:
                person_x.append((x, end))
        photos.append((rel, f"http://site/media/{n}.jpg", f"{year}-05-01", any(x in PERSON for x in names)))
    with (data / "albums.jsonl").open("w", encoding="utf-8") as f:
        for rel, url, day, _ in photos:
            f.write(json.dumps({"url": url.replace("media", "album"), "title": "Поход", "date": day,
                                "date_text": day, "displayed_count": 1, "found_count": 1, "saved_count": 1,
                                "complete": True, "photos": [{"url": url, "path": rel, "status": "saved",
                                                              "reason": None, "checksum": None, "date": None}]},
                               ensure_ascii=False) + "\n")
    (data / "photos" / "mine").mkdir()
    (data / "photos" / "mine" / "broken.jpg").symlink_to("/nowhere/broken.jpg")    # listed as failed, not fatal
    refs = tmp_path / "refs"
    refs.mkdir()
    for name in ("026A06.JPG", "026A07.JPG"):
        Image.open(FGNET / "images" / name).convert("RGB").save(refs / name)
    (tmp_path / "settings.yaml").write_text(
        f"data: data\nfaces:\n  references: refs\n  workers: 1\n  weights_dir: {deepface_home}\n", encoding="utf-8")

    out = run_match(tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Found 6 photos of the person" in out.stdout
    assert "Indexed 8 photos with dlib + Dlib (chip alignment)" in out.stdout and "1 failed." in out.stdout
    assert "  photos/mine/broken.jpg: broken symbolic link (to /nowhere/broken.jpg, which does not exist)" \
        in out.stdout
    assert "Traceback" not in out.stderr
    assert f"Report:  {tmp_path / 'results' / 'report.html'}" in out.stdout
    with (tmp_path / "results" / "matches.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    expected = [(str(data / rel), url, day) for rel, url, day, person in photos if person]
    assert [(r["path"], r["url"], r["album_date"]) for r in rows] == expected
    assert all(0.5 < float(r["score"]) <= 1 for r in rows)
    assert {int(r["iteration"]) for r in rows} >= {0, 1}
    # Each face box is the person's, not the stranger's beside them.
    for row, (start, end) in zip(rows, person_x):
        x, _, w, _ = map(int, row["face_box"].split(","))
        assert start <= x and x + w <= end
    assert sorted(p.name for p in (tmp_path / "results" / "photos").iterdir()) == sorted(
        Path(rel).name for rel, _, _, person in photos if person)
    assert "default: one face per photo" in (tmp_path / "results" / "report.html").read_text(encoding="utf-8")

    # Again with the user's method: nothing is indexed twice, and the report says which method ran.
    out = run_match(tmp_path, "--strategy", "seed", "--output", str(tmp_path / "seed-results"))
    assert out.returncode == 0, out.stderr
    assert "Indexed" not in out.stdout
    assert "Nothing new to index" in out.stdout and "photos/mine/broken.jpg: broken symbolic link" in out.stdout
    assert "seed: any face within 0.54" in (tmp_path / "seed-results" / "report.html").read_text(encoding="utf-8")
