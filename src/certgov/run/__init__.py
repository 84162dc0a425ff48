"""Orchestration: the steps around the pure planner and the executor, one module per command.

- `facts`: live state, the server's clock, store records and rollout facts, read before planning;
- `plan`: plan a folder and build the plan document once; `apply`: apply a plan file or a
  confirmed fresh plan; `drift`, `rollout`, `policytests`: the other commands that talk to the
  API. Click commands parse options, call one function here, and render its answer.
"""
