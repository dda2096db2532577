"""Retries: patient with a busy site, brief with a silent one, and never silent about waiting.

Scrapy's RetryMiddleware retries every failure the same number of times
(RETRY_TIMES). A photo site that answers 503/429 when busy deserves those
tries; a request that got no answer at all already cost DOWNLOAD_TIMEOUT
seconds, so timeouts get their own, smaller budget (PHOTOSCRAPE_TIMEOUT_RETRIES),
and each one is logged as it happens: a server that accepts connections but
never answers shows a line every DOWNLOAD_TIMEOUT seconds instead of nothing.
"""
from __future__ import annotations

import logging

from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.http import Request

from photoscrape.reasons import TIMEOUTS

logger = logging.getLogger(__name__)


class PatientRetryMiddleware(RetryMiddleware):
    def __init__(self, settings):
        super().__init__(settings)
        self.timeout_retries = settings.getint("PHOTOSCRAPE_TIMEOUT_RETRIES")
        self.timeout = settings.getfloat("DOWNLOAD_TIMEOUT")

    def process_exception(self, request: Request, exception: Exception, spider=None):
        if not isinstance(exception, TIMEOUTS) or request.meta.get("dont_retry", False):
            return super().process_exception(request, exception)
        attempt = request.meta.get("retry_times", 0) + 1
        if attempt <= self.timeout_retries:
            seconds = request.meta.get("download_timeout", self.timeout)
            logger.info("No answer from %s in %g s, retrying %d/%d",
                        request.url, seconds, attempt, self.timeout_retries)
        return get_retry_request(request, spider=self.crawler.spider, reason=exception,
                                 max_retry_times=self.timeout_retries,
                                 priority_adjust=request.meta.get("priority_adjust", self.priority_adjust),
                                 give_up_log_level=self.give_up_log_level)
