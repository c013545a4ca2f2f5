"""Observability: Prometheus metrics and OpenTelemetry traces of executions, nodes and batches.

* ``metrics`` — the metric families and how events move them; ``plugin`` — the builtin
  ``wtb_on_event`` listener feeding them; ``exposition`` — ``GET /metrics`` and
  ``wtb metrics serve``.
* ``tracing`` — the spans the engine opens (``invoke_workflow {project}``, batches, time
  travel); ``nodes`` — one ``node {node}`` span per node run; ``processor`` — the opt-in span
  processor copying ``wtb.*`` attributes onto spans created inside nodes.
* ``settings`` — the ``StackConfig.metrics`` / ``StackConfig.tracing`` switches.
"""
