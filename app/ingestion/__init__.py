"""Ingestion: fingerprint, dedupe, upsert, reopen, close-missing, apply exceptions, snapshot.

No Flask here: the scheduler, workers, the CLI and the web upload all call :func:`ingest`.
"""

from app.ingestion.ingest import IngestSummary, ingest

__all__ = ["IngestSummary", "ingest"]
