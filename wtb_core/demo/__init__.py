"""The demo shipped with WTB: a deterministic RAG-like workflow (``rag``) and the guided
time-travel tour ``wtb demo`` runs over it (``tour``)."""
