"""``wtb serve``: the bench over HTTP (``pip install "wtb-core[server]"``).

- ``app.create_app(bench, settings)`` — the FastAPI application: the native API under
  ``/api/v1`` (``native/``), the WebSocket event stream ``/api/v1/stream`` (``stream.py``),
  the LangGraph Agent Server subset at the root (``langgraph/``), ``/healthz``, ``/readyz``
  and every plugin's ``wtb_register_routes``.
- Routes only translate: each calls one operation of the bench's application services
  (``wtb_core.sdk``), which hold all the rules. Work that outlives a request (a run
  answered ``202``, a batch) runs on the server's bounded ``jobs.JobPool``.
- ``security.py`` guards every request (loopback by default, a bearer token otherwise,
  Host and Origin checks); ``errors.py`` turns a ``WTBError`` into a 4xx JSON body.
"""
