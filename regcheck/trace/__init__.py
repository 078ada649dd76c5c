"""Trace formats and renderers; every one of them consumes ``regcheck.result.Trace``."""
