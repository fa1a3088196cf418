"""The HTTP API (FastAPI): thin routes over :class:`pactmatch.service.PactmatchService`."""
