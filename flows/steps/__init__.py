"""The tasks and steps of the flows, one module per flow module: the flow modules read as tables of contents."""
