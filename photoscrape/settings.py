"""Scrapy settings for `scrapy crawl albums` (scrapy.cfg names this module).

The fixed part is below; the site-dependent part (what to crawl, politeness,
where to store) comes from the `site:` profile of settings.yaml, checked
before any request: a bad key stops the command with one line naming it.
"""
import sys

import scrapy

from photoscrape.profile import ProfileError, crawl_settings, load_crawl_config

BOT_NAME = "photoscrape"
SPIDER_MODULES = ["photoscrape.spiders"]
NEWSPIDER_MODULE = "photoscrape.spiders"
# Our `crawl` (exit status 1 when the crawl could not do its job, one crawl per data folder).
COMMANDS_MODULE = "photoscrape.commands"
ADDONS = {}

# Say who we are: a person backing up their own albums, not an anonymous bot.
USER_AGENT = f"photoscrape/1.0 (personal photo-album backup; Scrapy/{scrapy.__version__})"

# Politeness for a real site; a profile may change these (site.obey_robots_txt,
# site.autothrottle, site.download_delay, site.concurrency).
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0   # ~2 requests in flight on average: a patient reader
DOWNLOAD_DELAY = 0.5                    # AutoThrottle never goes below this
CONCURRENT_REQUESTS_PER_DOMAIN = 4

# Photo sites answer 503/429 when busy: try longer than Scrapy's 2 retries.
RETRY_TIMES = 4
# A page with no answer after DOWNLOAD_TIMEOUT seconds is tried twice more, each wait logged
# (retry.py): a slow real site still works, a silent one fails in minutes, not ten. The
# timeout covers the whole transfer, so a photo (a large original on a slow line) gets longer.
DOWNLOAD_TIMEOUT = 30
PHOTOSCRAPE_PHOTO_TIMEOUT = 120
PHOTOSCRAPE_TIMEOUT_RETRIES = 2
# Photo URLs often redirect to a CDN; the manifest keeps the URL as linked.
MEDIA_ALLOW_REDIRECTS = True
DOWNLOAD_MAXSIZE = 200 * 1024 * 1024    # bigger than any photo; stops endless answers

ITEM_PIPELINES = {
    "photoscrape.pipelines.PhotosPipeline": 300,    # downloads, converts, stores the photos
    "photoscrape.manifest.ManifestPipeline": 800,   # then records the album in albums.jsonl
}
EXTENSIONS = {
    "scrapy.extensions.logstats.LogStats": None,
    "photoscrape.logs.ProgressLog": 0,              # "N albums done; photos: N saved...", every minute
}
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "photoscrape.retry.PatientRetryMiddleware": 550,
    # Scrapy's cookie handling, with the jar first filled from site.cookies_file.
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
    "photoscrape.cookies.CookiesFileMiddleware": 700,
}

LOG_LEVEL = "INFO"
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False     # no code-running HTTP server inside a crawl of personal albums
FEED_EXPORT_ENCODING = "utf-8"

try:
    globals().update(crawl_settings(load_crawl_config()))
except ProfileError as exc:
    sys.stderr.write(f"error: {exc}\n")
    raise SystemExit(2) from None
