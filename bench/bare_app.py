"""The reference for the API benchmark: a bare FastAPI endpoint, nothing behind it."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    """The same shape of answer as the real health check, with no work behind it."""
    return {"status": "ok"}


@app.get("/ping")
def ping() -> dict[str, str]:
    return {"status": "ok"}
