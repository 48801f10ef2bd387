"""The algorithms: each module holds its HParams, State, factory and policy."""
