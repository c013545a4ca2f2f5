"""The engine: builds graphs for executions and drives them through LangGraph."""
