"""Integration: `scrapy crawl albums` on the dev bench (faults injected), checked against its truth.

Each test serves a built bench site on loopback, writes a settings file that
points the shipped bench profile at it, and runs the real command in a
subprocess, as a user would.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

from conftest import REPO, build_bench_site

pytestmark = pytest.mark.slow

AVAILABLE_DESPITE_FAULT = {"flaky_503_twice", "redirect_302", "exif_rotated", "grayscale", "cmyk_jpeg",
                           "png_named_jpg"}
FAILED_REASON = {"missing_404": "HTTP 404", "html_instead_of_image": "not an image",
                 "truncated_jpeg": "truncated image"}


def write_settings(tmp_path: Path, site_url: str, profile: str = "bench-ru") -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(f'data: data\nsite:\n  profile: {profile}\n  start_urls: ["{site_url}"]\n', encoding="utf-8")
    return path


def crawl_command(settings: Path) -> dict:
    return {"args": [sys.executable, "-m", "scrapy", "crawl", "albums"], "cwd": REPO,
            "env": {**os.environ, "PHOTOSCRAPE_CONFIG": str(settings)}}


def crawl(settings: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(**crawl_command(settings), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_manifest(data: Path) -> list[dict]:
    return [json.loads(line) for line in (data / "albums.jsonl").read_text(encoding="utf-8").splitlines()]


def url_path(url: str) -> str:
    return urlsplit(url).path


def photo_files(data: Path) -> dict[str, tuple[int, int]]:
    """Every file under photos/ (hidden ones too): relative path -> (size, mtime)."""
    return {p.relative_to(data).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in (data / "photos").rglob("*") if p.is_file()}


def check_against_truth(data: Path, truth: Path) -> list[dict]:
    """Every acceptance point of the crawl, against truth/albums.csv, photos.csv, faults.csv."""
    manifest = read_manifest(data)
    albums = {url_path(a["url"]): a for a in manifest}
    true_albums = {row["url"]: row for row in read_csv(truth / "albums.csv")}
    faults = {row["url"]: row["fault"] for row in read_csv(truth / "faults.csv")}

    # Every album, with the date shown (null where none), the displayed count and the title.
    assert sorted(albums) == sorted(true_albums)
    for path, row in true_albums.items():
        a = albums[path]
        assert a["title"] == row["title"], path
        assert a["date"] == (row["date_shown"] or None), path
        assert bool(a["date_text"]) == bool(row["date_shown"]), path
        assert a["displayed_count"] == int(row["displayed_count"]), path
        assert a["found_count"] == int(row["real_count"]), path
    # The site lists albums newest first; the manifest keeps that order.
    dates = [true_albums[url_path(a["url"])]["date"] for a in manifest]
    assert dates == sorted(dates, reverse=True)

    # Every photo in the site's order; every available one saved exactly once and decodable.
    true_photos = read_csv(truth / "photos.csv")
    for path, a in albums.items():
        album_id = true_albums[path]["album_id"]
        rows = sorted((r for r in true_photos if r["album_id"] == album_id), key=lambda r: int(r["position"]))
        assert [url_path(p["url"]) for p in a["photos"]] == [r["url"] for r in rows], path
    saved_paths = []
    for a in manifest:
        label = a["date"] or "undated"
        album_id = url_path(a["url"]).strip("/").split("/")[-1]
        for position, p in enumerate(a["photos"], start=1):
            fault = faults.get(url_path(p["url"]), "")
            if fault in FAILED_REASON:
                assert (p["status"], p["reason"]) == ("failed", FAILED_REASON[fault]), p
                assert p["path"] is None and p["checksum"] is None
                continue
            assert p["status"] in ("saved", "already_saved"), p
            assert p["reason"] is None
            assert p["path"] == f"photos/{label} {a['title']}/{label}_{album_id}_{position:03d}.jpg"
            file = data / p["path"]
            assert hashlib.sha256(file.read_bytes()).hexdigest() == p["checksum"]
            with Image.open(file) as img:
                img.load()
                assert (img.format, img.mode) == ("JPEG", "RGB"), (p, fault)
                assert img.getexif().get(0x0112, 1) == 1
                assert img.size == (540, 360), (p, fault)     # EXIF-rotated photos stored upright
            saved_paths.append(p["path"])
    assert len(saved_paths) == len(set(saved_paths))
    available = [r for r in true_photos if r["fault"] not in FAILED_REASON]
    assert len(saved_paths) == len(available)
    assert sorted(photo_files(data)) == sorted(saved_paths)      # no partial, stray or duplicate file

    # Every fault reported on the right photo or album.
    statuses = {url_path(p["url"]): p for a in manifest for p in a["photos"]}
    for url, fault in faults.items():
        if url.startswith("/album/"):
            a = albums[url]
            if fault == "displayed_count_too_high":
                assert a["displayed_count"] > a["found_count"] and a["complete"] is False
            elif fault == "no_date_shown":
                assert a["date"] is None and a["date_text"] == "" and a["complete"] is True
                assert all("/undated " in p["path"] for p in a["photos"])
            elif fault == "empty_album":
                assert (a["displayed_count"], a["found_count"], a["complete"]) == (0, 0, True)
            else:
                raise AssertionError(f"unknown album fault {fault}")
        elif fault in AVAILABLE_DESPITE_FAULT:
            assert statuses[url]["status"] in ("saved", "already_saved"), (url, fault)
        else:
            assert statuses[url]["reason"] == FAILED_REASON[fault], (url, fault)
    # The redirected photo is listed under the URL the page linked, not the CDN's.
    assert all(not url_path(p["url"]).startswith("/cdn/") for p in statuses.values())

    # Complete: every found photo on disk and the displayed count found.
    for a in manifest:
        expected = a["saved_count"] == a["found_count"] and a["displayed_count"] in (None, a["found_count"])
        assert a["complete"] is expected, a["url"]
    return manifest


def test_dev_bench_crawl_then_rerun(bench_site, serve_site, tmp_path):
    site = serve_site(bench_site / "site")
    settings = write_settings(tmp_path, site.url)
    data = tmp_path / "data"

    first = crawl(settings)
    manifest = check_against_truth(data, bench_site / "truth")
    assert all(p["status"] in ("saved", "failed") for a in manifest for p in a["photos"])
    incomplete = {url_path(a["url"]) for a in manifest if not a["complete"]}
    truth_faults = read_csv(bench_site / "truth" / "faults.csv")
    for url in incomplete:       # the summary names every incomplete album and why
        assert url in first.stdout
    assert "the site shows 10 photos, 8 found" in first.stdout
    for reason in FAILED_REASON.values():
        assert f"1 failed ({reason})" in first.stdout
    assert len(incomplete) == 1 + sum(f["fault"] in FAILED_REASON for f in truth_faults)
    assert (data / "crawl-summary.txt").read_text(encoding="utf-8") == first.stdout

    # A second crawl downloads nothing: same files, untouched, all "already_saved".
    before = photo_files(data)
    second = crawl(settings)
    assert photo_files(data) == before
    rerun = check_against_truth(data, bench_site / "truth")
    assert all(p["status"] in ("already_saved", "failed") for a in rerun for p in a["photos"])
    assert [a["complete"] for a in rerun] == [a["complete"] for a in manifest]
    assert "(0 saved now, 196 already saved)" in second.stdout
    assert "Dumping Scrapy stats" not in second.stderr      # the summary is the end of the output


def test_crawl_killed_with_sigkill_reruns_to_complete(bench_site, serve_site, tmp_path):
    site = serve_site(bench_site / "site")
    settings = write_settings(tmp_path, site.url)
    state = tmp_path / "data" / "crawl-state.jsonl"
    proc = subprocess.Popen(**crawl_command(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if state.exists() and state.read_bytes().count(b"\n") >= 40:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the crawl ended before it could be killed"
    saved_before_kill = state.read_bytes().count(b"\n")
    assert 40 <= saved_before_kill < 196

    crawl(settings)
    manifest = check_against_truth(tmp_path / "data", bench_site / "truth")
    counts = Counter(p["status"] for a in manifest for p in a["photos"])
    assert counts["already_saved"] >= 40 and counts["saved"] >= 1
    assert counts["already_saved"] + counts["saved"] == 196


def test_english_layout_needs_only_its_profile(bench_kit, serve_site, tmp_path):
    bench = build_bench_site(tmp_path / "bench-en", "--layout", "en", "--faults")
    site = serve_site(bench / "site")
    run = tmp_path / "run"
    run.mkdir()
    crawl(write_settings(run, site.url, profile="bench-en"))
    check_against_truth(run / "data", bench / "truth")
