"""The Python SDK: ``WTBTestBench`` and the stack it assembles."""
