"""Ingest stage: read files, clean them, find their structure and cut them into chunks."""
