"""python -m faces.index on real photos: messy files, reruns, detector switching, workers, kills.

The photos are made here from FG-NET photos with Pillow (see tests/conftest.py
for where FG-NET lives). Models are loaded once for the module; the command
line runs start their own worker processes.
"""
from __future__ import annotations

import io
import json
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import FGNET, REPO, jpeg_claiming, jpeg_with_corrupt_exif, shuffled_tiles
from faces.config import load_config
from faces.embed import FaceEncoder
from faces.index import update_index
from faces.store import Store

pytestmark = pytest.mark.slow

# FG-NET photos with one clear face each (dlib finds exactly one, and none when turned sideways)
COLOR, GRAY, FOR_CMYK, FOR_ALPHA, FOR_ROTATION, FOR_CYRILLIC, FOR_NO_FACE = (
    "002A36.JPG", "003A38.JPG", "001A19.JPG", "006A42.JPG", "008A12.JPG", "001A40.JPG", "006A69.JPG")
CYRILLIC = "photos/Выпускной 2005/Катя у доски.jpg"


def fgnet(name: str) -> Image.Image:
    with Image.open(FGNET / "images" / name) as im:
        im.load()
        return im


def make_photos(data: Path) -> dict[str, Path]:
    """The messy photo folder of the acceptance tests, plus a manifest listing some of it."""
    def save(rel: str, im: Image.Image, **kw) -> Path:
        path = data / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        im.save(path, **kw)
        return path

    alpha = fgnet(FOR_ALPHA).convert("RGBA")
    mask = np.full((alpha.height, alpha.width), 255, np.uint8)
    mask[:, : alpha.width // 5] = 0
    alpha.putalpha(Image.fromarray(mask))
    exif = Image.Exif()
    exif[0x0112] = 6                                   # stored sideways: "rotate 90 degrees clockwise to view"
    exif.get_ifd(0x8769)[0x9003] = "2006:05:25 11:00:00"
    buf = io.BytesIO()
    fgnet(COLOR).save(buf, "JPEG", quality=90)
    paths = {
        "color": save("photos/2004-09-01 Линейка/001.jpg", fgnet(COLOR), quality=92),
        "gray": save("photos/2004-09-01 Линейка/002.jpg", fgnet(GRAY), quality=92),
        "cmyk": save("photos/2004-09-01 Линейка/003.jpg", fgnet(FOR_CMYK).convert("CMYK"), quality=92),
        "truncated": data / "photos/2004-09-01 Линейка/004.jpg",
        "alpha": save("photos/dropped/alpha.png", alpha),
        "rotated": save("photos/dropped/rotated.jpg", fgnet(FOR_ROTATION).transpose(Image.Transpose.ROTATE_90),
                        exif=exif, quality=92),
        "cyrillic": save(CYRILLIC, fgnet(FOR_CYRILLIC), quality=92),
        "no_face": save("photos/dropped/wall.jpg", Image.fromarray(shuffled_tiles(np.asarray(fgnet(FOR_NO_FACE)))),
                        quality=92),
    }
    paths["truncated"].write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    album = {"url": "http://site/album/1/", "title": "Линейка", "date": "2004-09-01", "date_text": "1 сентября 2004",
             "displayed_count": 6, "found_count": 6, "saved_count": 4, "complete": False, "photos": [
                 {"url": f"http://site/media/{n}.jpg", "path": str(paths[k].relative_to(data)), "status": "saved",
                  "reason": None, "checksum": None, "date": None}
                 for n, k in enumerate(["color", "gray", "cmyk", "truncated"])] + [
                 {"url": "http://site/media/gone.jpg", "path": "photos/2004-09-01 Линейка/005.jpg",
                  "status": "saved", "reason": None, "checksum": None, "date": None},
                 {"url": "http://site/media/404.jpg", "path": None, "status": "failed", "reason": "HTTP 404",
                  "checksum": None, "date": None}]}
    (data / "albums.jsonl").write_text(json.dumps(album, ensure_ascii=False) + "\n{broken\n", encoding="utf-8")
    return paths


def settings(folder: Path, **faces) -> Path:
    lines = "".join(f"  {k}: {v}\n" for k, v in {"workers": 1, **faces}.items())
    path = folder / "settings.yaml"
    path.write_text(f"data: data\nfaces:\n{lines}", encoding="utf-8")
    return path


def fgnet_photos(root: Path, first: int, stop: int) -> list[str]:
    """FG-NET photos number first..stop-1 (by name) copied into <root>/data/photos/; their names."""
    photos = root / "data" / "photos"
    photos.mkdir(parents=True)
    names = sorted(p.name for p in (FGNET / "images").iterdir())[first:stop]
    for name in names:
        shutil.copy(FGNET / "images" / name, photos / name)
    return names


@pytest.fixture(scope="module")
def encoder(bench_kit, deepface_home, tmp_path_factory) -> FaceEncoder:
    return FaceEncoder(load_config(settings(tmp_path_factory.mktemp("enc"))))


@pytest.fixture
def project(tmp_path) -> tuple[Path, dict[str, Path]]:
    return tmp_path, make_photos(tmp_path / "data")


def test_messy_photos_are_indexed_and_failures_recorded(project, encoder):
    root, paths = project
    import dlib
    sideways = np.asarray(Image.open(paths["rotated"]).convert("RGB"))       # pixels as stored, rotation ignored
    assert len(dlib.get_frontal_face_detector()(sideways, 1)) == 0           # the face needs the EXIF rotation

    cfg = load_config(settings(root))
    report = update_index(cfg, encoder=encoder, progress=False)

    assert (report.listed, report.indexed, report.faces, report.no_face) == (8, 7, 6, 1)
    assert report.failed == [("photos/2004-09-01 Линейка/004.jpg", "truncated image")]
    assert report.missing == ["photos/2004-09-01 Линейка/005.jpg"]
    assert report.problems == ["albums.jsonl line 2: not a JSON album (skipped)"]
    summary = report.summary()
    assert "Indexed 7 photos with dlib + Dlib (chip alignment)" in summary
    assert "6 faces found, 1 photo with no face, 1 failed." in summary
    assert "1 photo listed in albums.jsonl not on disk, e.g. photos/2004-09-01 Линейка/005.jpg" in summary
    assert "  photos/2004-09-01 Линейка/004.jpg: truncated image" in summary

    with Store(cfg.store_path) as store:
        table = store.face_table("dlib", "Dlib")
    by_path = {p.path: i for i, p in enumerate(table.photos)}
    assert set(by_path) == {p for k, p in paths.items() if k != "truncated"}
    faces_per_photo = np.bincount(table.photo_index, minlength=len(table.photos))
    assert {p: int(faces_per_photo[i]) for p, i in by_path.items()} == {
        p: int(k != "no_face") for k, p in paths.items() if k != "truncated"}
    color = table.photos[by_path[paths["color"]]]
    assert (color.url, str(color.album_date)) == ("http://site/media/0.jpg", "2004-09-01")
    rotated = table.photos[by_path[paths["rotated"]]]
    assert (rotated.url, str(rotated.album_date)) == ("", "2006-05-25")          # from EXIF
    x, y, w, h = table.boxes[table.photo_index == by_path[paths["rotated"]]][0]
    upright = fgnet(FOR_ROTATION)
    assert x + w <= upright.width and y + h <= upright.height                  # a box in the upright photo
    assert table.embeddings.shape == (6, 128)


def test_rerun_on_unchanged_then_touched_then_renamed_photos_embeds_nothing(project, encoder):
    root, paths = project
    cfg = load_config(settings(root))
    first = update_index(cfg, encoder=encoder, progress=False)
    assert first.faces == 6

    def faces_rows() -> list[tuple]:
        with sqlite3.connect(cfg.store_path) as db:
            return db.execute("SELECT id, checksum FROM faces ORDER BY id").fetchall()

    before = faces_rows()
    again = update_index(cfg, encoder=encoder, progress=False)
    assert (again.pending, again.faces) == (0, 0)
    assert again.failed_before == [("photos/2004-09-01 Линейка/004.jpg", "truncated image")]
    assert again.summary().startswith("Nothing new to index: all 8 photo files were seen before")

    later = time.time() + 3600
    for path in paths.values():
        os.utime(path, (later, later))
    touched = update_index(cfg, encoder=encoder, progress=False)
    assert (touched.pending, touched.faces) == (0, 0)

    renamed = paths["cyrillic"].with_name("Катя у доски (2).jpg")
    paths["cyrillic"].rename(renamed)
    moved = update_index(cfg, encoder=encoder, progress=False)
    assert (moved.pending, moved.faces) == (0, 0)
    assert faces_rows() == before
    with Store(cfg.store_path) as store:
        assert renamed in {p.path for p in store.face_table("dlib", "Dlib").photos}

    # A photo saved twice under two names is one photo to index; the summary says which files are copies.
    twin = root / "data/photos/dropped/copy of 001.jpg"
    shutil.copy(paths["color"], twin)
    copied = update_index(cfg, encoder=encoder, progress=False)
    assert (copied.listed, copied.pending, copied.faces) == (9, 0, 0)
    assert copied.copies == [("photos/dropped/copy of 001.jpg", "photos/2004-09-01 Линейка/001.jpg")]
    assert copied.summary().splitlines()[:3] == [
        "Nothing new to index: all 9 photo files (8 distinct photos) were seen before with dlib + Dlib (chip alignment).",
        "1 of the 9 photo files is a byte-identical copy of another (indexed once, listed under each name):",
        "  photos/dropped/copy of 001.jpg = photos/2004-09-01 Линейка/001.jpg"]


def test_new_copies_are_indexed_once_and_the_log_says_so(project, encoder, caplog):
    root, _ = project
    (root / "data/photos/twins").mkdir()
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(FGNET / "images" / GRAY, root / "data/photos/twins" / name)
    caplog.set_level(logging.INFO, logger="faces.index")
    report = update_index(load_config(settings(root)), encoder=encoder, progress=False)
    assert (report.listed, report.pending, report.pending_files, report.indexed) == (10, 9, 10, 8)
    assert "indexing 9 new photos (in 10 files: 1 copy of another, indexed once) with dlib + Dlib" in caplog.text
    assert report.copies == [("photos/twins/b.jpg", "photos/twins/a.jpg")]


def test_command_line_with_two_workers_matches_in_process(project, encoder, tmp_path):
    root, paths = project
    cfg = load_config(settings(root))
    update_index(cfg, encoder=encoder, progress=False)
    cli_root = tmp_path / "cli"
    make_photos(cli_root / "data")
    config = settings(cli_root, workers=2)

    out = subprocess.run([sys.executable, "-m", "faces.index", "--config", str(config)], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "Indexed 7 photos with dlib + Dlib (chip alignment)" in out.stdout
    assert "Traceback" not in out.stderr and "absl" not in out.stderr and "cuda" not in out.stderr

    with Store(cfg.store_path) as one, Store(load_config(config).store_path) as two:
        a, b = one.face_table("dlib", "Dlib"), two.face_table("dlib", "Dlib")
    assert [p.checksum for p in a.photos] == [p.checksum for p in b.photos]
    assert np.array_equal(a.boxes, b.boxes) and np.allclose(a.embeddings, b.embeddings, atol=1e-6)


def test_huge_photos_fail_in_one_line_and_pillow_stays_quiet(bench_kit, deepface_home, tmp_path):
    photos = tmp_path / "data" / "photos"
    photos.mkdir(parents=True)
    (photos / "huge.jpg").write_bytes(jpeg_claiming(18000, 10500))     # Pillow itself refuses it
    (photos / "big.jpg").write_bytes(jpeg_claiming(12000, 8000))       # Pillow warns about it
    jpeg_with_corrupt_exif(photos / "exif.jpg")
    shutil.copy(FGNET / "images" / COLOR, photos / "face.jpg")
    out = subprocess.run([sys.executable, "-m", "faces.index", "--config", str(settings(tmp_path, workers=2))],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "Indexed 2 photos with dlib + Dlib (chip alignment)" in out.stdout
    assert "1 face found, 1 photo with no face, 2 failed." in out.stdout
    assert "  photos/big.jpg: image too large (96 megapixels; the limit is 89)\n" in out.stdout
    assert "  photos/huge.jpg: image too large (189 megapixels; the limit is 89)\n" in out.stdout
    assert out.stderr.splitlines() == ["indexing 4 new photos with dlib + Dlib (chip alignment), 2 worker processes"]


def test_retinaface_without_weights_stops_at_once_with_one_line(project, deepface_home):
    root, _ = project
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "faces.index", "--config",
                          str(settings(root, detector_backend="retinaface"))],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert time.monotonic() - start < 15
    assert out.returncode == 2 and out.stdout == ""
    folder = deepface_home / ".deepface" / "weights"
    assert out.stderr == (f"error: faces.detector_backend: retinaface needs the weight file retinaface.h5, "
                          f"which is not in {folder} (nothing is downloaded: put the file there, "
                          f"or choose another in settings.yaml)\n")
    assert not (root / "data" / "faces.sqlite").exists()        # no photo was touched


def test_switching_detectors_keeps_every_index(project, encoder):
    root, paths = project
    update_index(load_config(settings(root)), encoder=encoder, progress=False)
    counts = {}
    for backend in ("opencv", "mtcnn"):
        cfg = load_config(settings(root, detector_backend=backend))       # the only change
        report = update_index(cfg, progress=False)
        assert report.indexed == 7 and report.failed == []      # an unreadable file is not read again
        assert report.failed_before == [("photos/2004-09-01 Линейка/004.jpg", "truncated image")]
        counts[backend] = report.faces
    with Store(root / "data" / "faces.sqlite") as store:
        assert store.keys() == [("dlib", "Dlib", "chip"), ("mtcnn", "Dlib", "chip"), ("opencv", "Dlib", "chip")]
        tables = {key[0]: store.face_table(*key) for key in store.keys()}
    assert len(tables["dlib"]) == 6
    for backend in ("opencv", "mtcnn"):
        assert len(tables[backend]) == counts[backend]
        found = {tables[backend].photos[i].path for i in tables[backend].photo_index}
        assert found >= {p for k, p in paths.items() if k not in ("truncated", "no_face")}, backend
        assert paths["no_face"] not in found, backend


def test_a_killed_run_loses_at_most_the_batch_in_flight(bench_kit, deepface_home, tmp_path):
    names = fgnet_photos(tmp_path, 0, 30)
    config = settings(tmp_path, workers=2)
    db_path = tmp_path / "data" / "faces.sqlite"
    command = [sys.executable, "-m", "faces.index", "--config", str(config)]

    run = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        done = 0
        while done == 0 and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            if db_path.exists():
                with sqlite3.connect(db_path, timeout=30) as db:
                    done = db.execute("SELECT COUNT(*) FROM scans").fetchone()[0]
        assert run.poll() is None and done, "the run should still be going after its first batch"
    finally:
        os.killpg(run.pid, signal.SIGKILL)                    # the command and its workers, no goodbye
        run.wait()

    out = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    with sqlite3.connect(db_path) as db:
        scans = db.execute("SELECT checksum, faces FROM scans").fetchall()
        stored = dict(db.execute("SELECT checksum, COUNT(*) FROM faces GROUP BY checksum").fetchall())
    assert len(scans) == len({c for c, _ in scans}) == len(names)
    assert all(stored.get(c, 0) == n for c, n in scans)      # no face lost, none stored twice
    assert f"Indexed {len(names) - done} photos" in out.stdout


def _workers_of(pid: int) -> list[int]:
    """The pool's worker processes: children of `pid` started by multiprocessing's spawn."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(stat.parent.name))
    return found


def test_a_dead_worker_fails_only_the_photos_in_flight(bench_kit, deepface_home, tmp_path):
    names = fgnet_photos(tmp_path, 100, 120)
    command = [sys.executable, "-m", "faces.index", "--config", str(settings(tmp_path, workers=2))]
    run = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(_workers_of(run.pid)) < 2 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)                                           # models loaded, photos in flight
    os.kill(_workers_of(run.pid)[0], signal.SIGKILL)        # as the out-of-memory killer would
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    died = [line for line in out.splitlines() if "a worker process died" in line]
    assert 1 <= len(died) <= 4, out                         # at most the photos in flight
    assert f"Indexed {len(names) - len(died)} photos" in out

    again = subprocess.run(command + ["--retry-failed"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert f"Indexed {len(died)} photo" in again.stdout and "0 failed" in again.stdout


def test_workers_end_when_the_main_process_is_killed(bench_kit, deepface_home, tmp_path):
    fgnet_photos(tmp_path, 200, 220)
    command = [sys.executable, "-m", "faces.index", "--config", str(settings(tmp_path, workers=2))]
    run = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(_workers_of(run.pid)) < 2 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = _workers_of(run.pid)
    assert len(workers) == 2, "the run should have started its two workers"
    time.sleep(2)                                           # models loading or photos in flight
    run.kill()                                              # the main process only, as `kill -9 PID` would
    run.wait()
    deadline = time.monotonic() + 20
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()
             and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert alive == [], "orphaned index workers kept running after the main process died"


def _run_until_first_batch(command: list[str], db_path: Path, before: int = 0) -> tuple[subprocess.Popen, int]:
    """Start `command` in its own process group; return it and the photos indexed, once more than `before`."""
    run = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)
    deadline = time.monotonic() + 240
    done = before
    while done == before and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            if db_path.exists():
                with sqlite3.connect(db_path, timeout=30) as db:
                    done = db.execute("SELECT COUNT(*) FROM scans").fetchone()[0]
        except sqlite3.OperationalError:       # the tables are not created yet
            pass
    return run, done


def test_ctrl_c_and_sigterm_say_how_far_indexing_got(bench_kit, deepface_home, tmp_path):
    from faces.config import cpu_cores

    names = fgnet_photos(tmp_path, 300, 360)
    db_path = tmp_path / "data" / "faces.sqlite"
    command = [sys.executable, "-m", "faces.index", "--config", str(settings(tmp_path, workers=100))]

    run, done = _run_until_first_batch(command, db_path)
    assert run.poll() is None and done, "the run should still be going after its first batch"
    os.killpg(run.pid, signal.SIGINT)                      # Ctrl-C: the whole foreground group
    _, err = run.communicate(timeout=120)
    with sqlite3.connect(db_path) as db:
        saved = db.execute("SELECT COUNT(*) FROM scans").fetchone()[0]
    assert run.returncode == 130
    cores = cpu_cores()
    assert err.splitlines()[0] == (f"indexing {len(names)} new photos with dlib + Dlib (chip alignment), "
                                   f"{cores} worker processes (faces.workers: 100 is more than the {cores} CPU "
                                   f"cores: at most {cores})")
    assert err.splitlines()[-1] == (f"interrupted after {saved} of {len(names)} photos; they are saved, "
                                    f"run again to index the rest")
    assert "Traceback" not in err and "leaked" not in err

    run, done = _run_until_first_batch(command, db_path, saved)     # `kill PID`, as a script stopping it would
    assert run.poll() is None and done > saved
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=120)
    with sqlite3.connect(db_path) as db:
        now = db.execute("SELECT COUNT(*) FROM scans").fetchone()[0]
    assert run.returncode == 143
    assert err.splitlines()[-1] == (f"interrupted after {now - saved} of {len(names) - saved} photos; "
                                    f"they are saved, run again to index the rest")
    assert "Traceback" not in err and "leaked semaphore" not in err and "resource_tracker" not in err
    assert not _workers_of(run.pid)
