"""faces.evaluate --truth: scoring the last match against labelled photos."""
from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from faces.config import UserError
from faces.evaluate import Scores, evaluate, main, read_matches, read_truth, score, url_key
from faces.report import FaceHit, write_results

REPO = Path(__file__).resolve().parent.parent

# The layout of the bench's truth/photos.csv: url is the path of the image URL.
TRUTH = """album_id,position,photo_page,url,album_date,subjects,sources,fault
1000,0,/photo/1000_0/,/media/aa.jpg,2003-02-03,010;019,010A07b.JPG;019A07.JPG,
1000,1,/photo/1000_1/,/media/bb.jpg,2003-02-03,,crowd:58.jpg,
1000,2,/photo/1000_2/,/media/cc.jpg,2003-02-03,010,010A08.JPG,
1007,0,/photo/1007_0/,/media/dd.jpg,2005-12-27,019,019A10.JPG,
1007,1,/photo/1007_1/,/media/%D1%84%D0%BE%D1%82%D0%BE.jpg,2005-12-27,010,010A11.JPG,
1007,2,/photo/1007_2/,/media/ee.jpg,2005-12-27,010,010A12.JPG,missing_404
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def results(tmp_path: Path, photos: list[tuple[str, str]]) -> Path:
    """A results folder written by faces.report for (file name, source URL) pairs; returns it."""
    hits = []
    for name, url in photos:
        p = tmp_path / "data" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (80, 60), (90, 90, 90)).save(p, "JPEG")
        hits.append(FaceHit(p.resolve(), url, date(2005, 1, 1), (10, 10, 30, 30), 0.9, 0))
    out = tmp_path / "results"
    write_results(out, hits, [], [])
    return out


def test_score_counts_and_ratios():
    s = score(["a", "b", "c", "d", "d"], {"b", "c", "e"})
    assert (s.tp, s.fp, s.fn) == (2, 2, 1)
    assert s.precision == pytest.approx(0.5)
    assert s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    nothing = score([], {"a"})
    assert (nothing.precision, nothing.recall, nothing.f1) == (0.0, 0.0, 0.0)
    micro = s + Scores(tp=3, fp=0, fn=3)            # summing counts = micro average
    assert (micro.tp, micro.fp, micro.fn, micro.precision, micro.recall) == (5, 2, 4, 5 / 7, 5 / 9)


def test_url_keys_full_url_or_only_its_path():
    assert url_key("http://Site.example:8765/media/a.jpg#x") == ("url", "http://site.example:8765/media/a.jpg")
    assert url_key("/media/%D1%84.jpg") == url_key("/media/ф.jpg") == ("urlpath", "/media/ф.jpg")
    assert url_key("https://h/a.jpg?size=big") == ("url", "https://h/a.jpg?size=big")


def test_truth_by_url_path_matches_any_host(tmp_path):
    out = results(tmp_path, [("1.jpg", "http://127.0.0.1:9001/media/aa.jpg"),     # 010: TP
                             ("2.jpg", "http://127.0.0.1:9001/media/bb.jpg"),     # nobody: FP
                             ("3.jpg", "http://127.0.0.1:9001/media/фото.jpg"),   # 010, written encoded in truth: TP
                             ("4.jpg", "http://127.0.0.1:9001/media/dd.jpg")])    # 019 only: FP
    truth = read_truth(write(tmp_path / "truth.csv", TRUTH))
    ev = evaluate(read_matches(out / "matches.csv"), truth, "010")
    s = ev.scores
    assert (s.tp, s.fp, s.fn) == (2, 2, 2)                # missed: cc.jpg and ee.jpg (a 404 on the site)
    assert (s.precision, s.recall, s.f1) == (0.5, 0.5, 0.5)
    assert (ev.truth_with_subject, ev.found, ev.unlabelled) == (4, 4, [])
    assert ev.false_negatives == ["/media/cc.jpg", "/media/ee.jpg"]
    assert ev.false_positives == ["/media/bb.jpg", "/media/dd.jpg"]
    ev19 = evaluate(read_matches(out / "matches.csv"), truth, "019")
    assert (ev19.scores.tp, ev19.scores.fp, ev19.scores.fn) == (2, 2, 0)


def test_a_full_truth_url_must_match_the_host_too(tmp_path):
    out = results(tmp_path, [("1.jpg", "http://site.example/media/aa.jpg"),
                             ("2.jpg", "http://elsewhere.example/media/cc.jpg")])
    truth = read_truth(write(tmp_path / "truth.csv", "url,subjects\nhttp://SITE.example/media/aa.jpg,7\n"
                                                      "http://site.example/media/cc.jpg,7\n"))
    ev = evaluate(read_matches(out / "matches.csv"), truth, "7")
    assert (ev.scores.tp, ev.scores.fp, ev.scores.fn) == (1, 0, 1)
    assert ev.unlabelled == ["http://elsewhere.example/media/cc.jpg"]   # counted, not scored


def test_truth_by_path_relative_to_the_truth_file(tmp_path):
    out = results(tmp_path, [("a/1.jpg", ""), ("a/2.jpg", ""), ("b/3.jpg", "")])
    truth_path = write(tmp_path / "labels" / "truth.csv",
                       "path,subjects\n../data/a/1.jpg,me\n../data/a/2.jpg,friend\n"
                       f"{tmp_path / 'data' / 'b' / '3.jpg'},me;friend\n../data/c/4.jpg,me\n")
    ev = evaluate(read_matches(out / "matches.csv"), read_truth(truth_path), "me")
    assert (ev.scores.tp, ev.scores.fp, ev.scores.fn) == (2, 1, 1)
    assert ev.false_positives == ["../data/a/2.jpg"] and ev.false_negatives == ["../data/c/4.jpg"]


def test_repeated_truth_rows_merge_their_subjects(tmp_path):
    truth = read_truth(write(tmp_path / "t.csv", "url,subjects\n/m/1.jpg,a\n/m/1.jpg, b ;\n/m/2.jpg,\n"))
    assert [(t.key, sorted(t.subjects)) for t in truth] == [(("urlpath", "/m/1.jpg"), ["a", "b"]),
                                                           (("urlpath", "/m/2.jpg"), [])]


@pytest.mark.parametrize("text, needle", [
    ("url,who\n/m/1.jpg,a\n", "no 'subjects' column (found: url, who)"),
    ("file,subjects\n1.jpg,a\n", "needs a 'url' or 'path' column"),
    ("url,subjects\n/m/1.jpg,a\n,b\n", "line 3: neither url nor path names the photo"),
    ("url,subjects\n", "no photos listed"),
])
def test_bad_truth_files_are_one_line_errors(tmp_path, text, needle):
    with pytest.raises(UserError) as err:
        read_truth(write(tmp_path / "t.csv", text))
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_headers_are_read_whatever_their_case_and_spaces(tmp_path):
    truth = read_truth(write(tmp_path / "t.csv", "\ufeff URL , Subjects \n/m/1.jpg, me \n/m/2.jpg,\n"))
    assert [(t.key, sorted(t.subjects)) for t in truth] == [(("urlpath", "/m/1.jpg"), ["me"]),
                                                           (("urlpath", "/m/2.jpg"), [])]
    by_path = read_truth(write(tmp_path / "p.csv", "Path,SUBJECTS\n1.jpg,me\n"))
    assert by_path[0].key == ("path", str((tmp_path / "1.jpg").resolve()))


@pytest.mark.parametrize("text, message", [
    ("url;subjects\n/m/1.jpg;me\n", "t.csv: the columns are separated by semicolons, not commas: "
                                     "save it as comma-separated CSV (header 'url;subjects')"),
    ("url\tsubjects\n/m/1.jpg\tme\n", "t.csv: the columns are separated by tabs, not commas"),
    ('url,subjects\n/m/1.jpg,me\n"/m/2.jpg,me\n/m/3.jpg,\n',
     "t.csv line 3: not valid CSV (a quoted value is never closed)"),
    ('url,subjects\n"/m/1.jpg"x,me\n', "t.csv line 2: not valid CSV (',' expected after '\"')"),
    ("url,subjects\n/m/1.jpg,me,anna\n", "t.csv line 2: not valid CSV (3 values, the header has 2 columns: "
                                          "put a value holding a comma in double quotes)"),
])
def test_files_that_are_not_comma_separated_csv_say_so_in_one_line(tmp_path, text, message):
    with pytest.raises(UserError) as err:
        read_truth(write(tmp_path / "t.csv", text))
    assert str(err.value).startswith(f"{tmp_path}/{message}")
    assert "\n" not in str(err.value)


def test_a_spreadsheet_saved_in_another_encoding_is_named(tmp_path):
    (tmp_path / "t.csv").write_bytes("url,subjects\n/m/фото.jpg,me\n".encode("cp1251"))
    with pytest.raises(UserError, match=r"t.csv line 2: not UTF-8 text \(save the file as \"CSV UTF-8\"\)$"):
        read_truth(tmp_path / "t.csv")


def test_precision_is_not_a_number_when_nothing_was_found(tmp_path, capsys):
    results(tmp_path, [])
    truth = write(tmp_path / "truth.csv", TRUTH)
    assert main(["--config", str(settings(tmp_path)), "--truth", str(truth), "--subject", "010"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.search(r"matches\.csv \(written \d{4}-\d\d-\d\d \d\d:\d\d\): 0 photos$", lines[1])
    assert lines[2:5] == ["precision n/a   recall 0.000   F1 0.000", "TP 0   FP 0   FN 4",
                          "nothing was found: matches.csv lists no photo, so precision is not defined (n/a)"]


def settings(tmp_path: Path) -> Path:
    return write(tmp_path / "settings.yaml", "data: data\nfaces:\n  output: results\n")


def test_command_prints_the_scores_and_the_counts(tmp_path, capsys):
    results(tmp_path, [("1.jpg", "http://h/media/aa.jpg"), ("2.jpg", "http://h/media/bb.jpg"),
                       ("3.jpg", "http://h/media/cc.jpg"), ("4.jpg", "http://h/media/zz.jpg")])
    truth = write(tmp_path / "truth.csv", TRUTH)
    assert main(["--config", str(settings(tmp_path)), "--truth", str(truth), "--subject", "010", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("truth.csv: 4 photos show subject 010")
    # which results were scored, and when they were written: evaluate scores whatever faces.output holds
    assert re.search(r"matches\.csv \(written \d{4}-\d\d-\d\d \d\d:\d\d\): 4 photos$", lines[1])
    assert lines[2] == "precision 0.667   recall 0.500   F1 0.571"
    assert lines[3] == "TP 2   FP 1   FN 2"
    assert lines[4] == "not scored: 1 found photo is not in the truth file (e.g. http://h/media/zz.jpg)"
    assert lines[5:] == ["false positive: /media/bb.jpg",      # photos are named as the truth file writes them
                         "missed: /media/%D1%84%D0%BE%D1%82%D0%BE.jpg", "missed: /media/ee.jpg"]


def test_the_only_subject_needs_no_flag_and_output_can_be_named(tmp_path, capsys):
    out = results(tmp_path / "elsewhere", [("1.jpg", "http://h/m/1.jpg")])
    truth = write(tmp_path / "truth.csv", "url,subjects\n/m/1.jpg,me\n/m/2.jpg,\n")
    main(["--config", str(settings(tmp_path)), "--truth", str(truth), "--output", str(out)])
    assert "precision 1.000   recall 1.000   F1 1.000" in capsys.readouterr().out


@pytest.mark.parametrize("args, needle", [
    (["--truth", "missing.csv", "--subject", "1"], "missing.csv: truth file not found"),
    (["--truth", "truth.csv", "--subject", "042"], "subject '042' is not in"),
    (["--truth", "truth.csv"], "name whose photos the last match looked for with --subject ID"),
    (["--truth", "truth.csv", "--subject", "010"], "matches.csv: no results yet (run python -m faces.match"),
    ([], "give --truth FILE"),
])
def test_command_errors_are_one_line(tmp_path, args, needle):
    write(tmp_path / "truth.csv", TRUTH)
    settings(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "faces.evaluate", *args], cwd=tmp_path, capture_output=True,
                          text=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and needle in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stdout == ""


def test_truth_photos_that_were_never_downloaded_are_named_and_left_out(tmp_path, capsys):
    """A typo in the truth file must not count as a photo the match missed."""
    from faces.store import FileRecord, Store

    out = results(tmp_path, [("1.jpg", "http://h/media/aa.jpg"), ("2.jpg", "http://h/media/bb.jpg")])
    with Store(tmp_path / "data" / "faces.sqlite") as store:       # what faces.index saw: five photos
        store.replace_files([FileRecord(f"{n}.jpg", f"c{n}", 1, 1, f"http://h/media/{name}.jpg")
                             for n, name in enumerate(["aa", "bb", "cc", "dd", "фото"], 1)])
        store.commit()
    truth = write(tmp_path / "truth.csv", TRUTH.replace("/media/cc.jpg", "/media/c.jpg"))   # a typo
    args = ["--config", str(settings(tmp_path)), "--truth", str(truth), "--subject", "010"]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("truth.csv: 2 photos show subject 010")         # aa and фото; not c, not ee
    assert lines[1] == ("warning: 2 labelled photos (2 with subject 010) are not among the downloaded photos, "
                        "e.g. /media/c.jpg: left out of the scores (usually a typo in url/path; --list names them)")
    assert lines[3:5] == ["precision 0.500   recall 0.500   F1 0.500", "TP 1   FP 1   FN 1"]
    assert main(args + ["--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[-2:] == ["not downloaded: /media/c.jpg", "not downloaded: /media/ee.jpg"]


def test_truth_photos_the_crawl_failed_to_download_are_told_apart_from_typos(tmp_path, capsys):
    """A photo the site answered 404 for is not a typo: the manifest says why it is missing."""
    import json

    from faces.store import FileRecord, Store

    results(tmp_path, [("1.jpg", "http://h/media/aa.jpg"), ("2.jpg", "http://h/media/bb.jpg")])
    with Store(tmp_path / "data" / "faces.sqlite") as store:
        store.replace_files([FileRecord(f"{n}.jpg", f"c{n}", 1, 1, f"http://h/media/{name}.jpg")
                             for n, name in enumerate(["aa", "bb", "cc", "dd", "фото"], 1)])
        store.commit()
    saved = [{"url": f"http://h/media/{name}.jpg", "path": f"{n}.jpg", "status": "saved", "reason": "",
              "checksum": f"c{n}", "date": None} for n, name in enumerate(["aa", "bb", "cc", "dd", "фото"], 1)]
    failed = {"url": "http://h/media/ee.jpg", "path": None, "status": "failed", "reason": "HTTP 404",
              "checksum": None, "date": None}
    album = {"url": "http://h/album/1007/", "title": "t", "date": "2005-12-27", "date_text": "27.12.2005",
             "displayed_count": 6, "found_count": 6, "saved_count": 5, "complete": False,
             "photos": [*saved, failed]}
    write(tmp_path / "data" / "albums.jsonl", "not json\n\n" + json.dumps(album, ensure_ascii=False) + "\n")
    truth = write(tmp_path / "truth.csv", TRUTH.replace("/media/cc.jpg", "/media/c.jpg"))   # and a typo
    args = ["--config", str(settings(tmp_path)), "--truth", str(truth), "--subject", "010"]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:3] == [
        "warning: 1 labelled photo (1 with subject 010) failed to download (e.g. /media/ee.jpg: HTTP 404): "
        "left out of the scores (--list names them)",
        "warning: 1 labelled photo (1 with subject 010) is not among the downloaded photos, e.g. /media/c.jpg: "
        "left out of the scores (usually a typo in url/path; --list names them)"]
    assert lines[4:6] == ["precision 0.500   recall 0.500   F1 0.500", "TP 1   FP 1   FN 1"]
    assert main(args + ["--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[-2:] == ["failed to download: /media/ee.jpg (HTTP 404)", "not downloaded: /media/c.jpg"]
    assert "--list names them" not in "\n".join(listed)
