"""Fetching: intake of links, the egress guard, the wire recorder and Scrapy spiders.

Crawlers hand what they fetched to the archivers; they never write evidence objects to
storage themselves.
"""
