"""Plain Scrapy, the baseline for `static_capture.py`: fetch a list of URLs and keep nothing.

Default Scrapy settings except the concurrency, a quiet log, no robots.txt and no telnet
console, so the comparison shows what Saksi's evidence work costs on top of the crawler
it is built on. One process (CrawlerProcess), so the parent's wait4() covers all of it.
Prints one JSON line: how many responses arrived, by status.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess


class FetchOnlySpider(scrapy.Spider):
    """Requests every URL once; the callback only counts."""

    name = "fetch_only"

    def __init__(self, urls: list[str], **kwargs: Any):
        super().__init__(**kwargs)
        self.urls = urls
        self.statuses: Counter[int] = Counter()
        self.body_bytes = 0

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse, errback=self.failed)

    def parse(self, response: scrapy.http.Response, **kwargs: Any) -> None:
        self.statuses[response.status] += 1
        self.body_bytes += len(response.body)

    def failed(self, failure: Any) -> None:
        self.statuses[-1] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="url_file", required=True, help="one URL a line")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with open(args.url_file, encoding="utf-8") as f:
        urls = [line.strip() for line in f if line.strip()]
    process = CrawlerProcess({
        "CONCURRENT_REQUESTS": args.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
        "LOG_LEVEL": "ERROR",
        "ROBOTSTXT_OBEY": False,
        "TELNETCONSOLE_ENABLED": False,
    })
    crawler = process.create_crawler(FetchOnlySpider)
    process.crawl(crawler, urls=urls)
    process.start()
    spider = crawler.spider
    print(json.dumps({"responses": sum(n for s, n in spider.statuses.items() if s >= 0),
                      "statuses": {str(k): v for k, v in spider.statuses.items()},
                      "decoded_body_bytes": spider.body_bytes}))


if __name__ == "__main__":
    main()
