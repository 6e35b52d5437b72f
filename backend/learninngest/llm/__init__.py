"""(6) The LLM: the only place that knows LangChain. See complete.complete()."""
