"""Timeouts: a slow site still works, a silent one is given up in minutes, and each wait is logged."""
import importlib
import logging

from scrapy import Request, Spider
from scrapy.exceptions import DownloadTimeoutError
from scrapy.utils.test import get_crawler
from twisted.internet.error import ConnectionRefusedError

from photoscrape.retry import PatientRetryMiddleware


def middleware(**settings):
    crawler = get_crawler(Spider, {"RETRY_TIMES": 4, "DOWNLOAD_TIMEOUT": 30, "PHOTOSCRAPE_TIMEOUT_RETRIES": 2,
                                   **settings})
    crawler.spider = crawler._create_spider("albums")
    return PatientRetryMiddleware.from_crawler(crawler)


def tries(mw, request: Request, exception: Exception) -> int:
    """How many times the request is sent in all, failing each time with `exception`."""
    sent = 1
    while (request := mw.process_exception(request, exception)) is not None:
        sent += 1
    return sent


def test_a_timeout_is_retried_twice_and_each_wait_is_logged(caplog):
    mw = middleware()
    caplog.set_level(logging.INFO, logger="photoscrape.retry")
    assert tries(mw, Request("http://s/robots.txt"), DownloadTimeoutError("took longer than 30.0 seconds")) == 3
    assert [r.getMessage() for r in caplog.records if r.name == "photoscrape.retry"] == [
        "No answer from http://s/robots.txt in 30 s, retrying 1/2",
        "No answer from http://s/robots.txt in 30 s, retrying 2/2"]


def test_a_photo_waits_its_own_longer_timeout(caplog):
    caplog.set_level(logging.INFO, logger="photoscrape.retry")
    request = Request("http://s/m/1.jpg", meta={"download_timeout": 120})
    assert tries(middleware(), request, DownloadTimeoutError()) == 3
    assert caplog.records[0].getMessage() == "No answer from http://s/m/1.jpg in 120 s, retrying 1/2"


def test_other_failures_keep_scrapys_retries(caplog):
    caplog.set_level(logging.INFO, logger="photoscrape.retry")
    assert tries(middleware(), Request("http://s/"), ConnectionRefusedError()) == 5      # RETRY_TIMES 4
    assert not [r for r in caplog.records if r.name == "photoscrape.retry"]
    assert tries(middleware(), Request("http://s/", meta={"dont_retry": True}), DownloadTimeoutError()) == 1


def test_project_settings_are_patient_with_a_slow_site_but_not_for_ten_minutes(tmp_path, monkeypatch):
    (tmp_path / "settings.yaml").write_text(
        "site: {start_urls: ['http://h/'], album_links: a, photo_links: b}\n", encoding="utf-8")
    monkeypatch.setenv("PHOTOSCRAPE_CONFIG", str(tmp_path / "settings.yaml"))
    import photoscrape.settings as s
    s = importlib.reload(s)
    assert s.DOWNLOAD_TIMEOUT == 30 and s.PHOTOSCRAPE_TIMEOUT_RETRIES == 2
    assert s.PHOTOSCRAPE_PHOTO_TIMEOUT >= 120              # a large original on a slow line
    assert s.DOWNLOADER_MIDDLEWARES["scrapy.downloadermiddlewares.retry.RetryMiddleware"] is None
    assert "photoscrape.retry.PatientRetryMiddleware" in s.DOWNLOADER_MIDDLEWARES
    # a silent site: robots.txt and the start page, three tries each
    assert 2 * (1 + s.PHOTOSCRAPE_TIMEOUT_RETRIES) * s.DOWNLOAD_TIMEOUT <= 180
