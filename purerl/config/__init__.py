"""What a run is, as plain data: settings and their ranges, what each algorithm declares, the job spec.

Owns: `settings` (ranges, `Definition`), `algorithms` (every algorithm's settings and requirements),
`registry` (lookup and checking), `spec` (`JobSpec`). Imports nothing of purerl's other layers and
neither JAX nor any env suite, so the CLI can list and check without starting JAX.
"""
