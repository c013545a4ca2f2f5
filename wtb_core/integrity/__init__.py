"""Cross-store consistency: the outbox processor (``outbox``), the integrity checks
(``checks``), their report (``report``) and repairs (``repair``), and the service that
ties them to a bench (``service``). ``cuts`` holds the named points between the writes
of multi-store operations where tests inject failures."""
