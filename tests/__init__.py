"""Tests mirror the stages: ingest, index, search, ui."""
