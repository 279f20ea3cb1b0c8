"""Scrapy spiders of Saksi (`scrapy list` shows them)."""
