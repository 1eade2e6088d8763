"""A run's view of the parents that existed when it was created: recorded once, read back by position.

A run that points at rows already in the database (events on the assets a
person entered, deployments of existing applications onto existing assets)
records, inside its creating transaction, exactly which rows it may point at
and the columns its generation depends on (``RunParent``). From then on:

- the plan is validated against that view, in the same transaction, so a clear
  that lands between a request and its run cannot leave the run with nothing
  to point at;
- every chunk, in any process, sees the same parents in the same positions: a
  row a person edits or deletes mid-run cannot change what the run writes
  (a deleted parent makes the chunks that point at it fail, loudly);
- a chunk reads back only the positions it needs (and, when it places
  deployments among existing ones, the pairs its applications already take),
  so memory stays proportional to the chunk, not to the tables;
- recording takes time in proportion to the plan, not the estate: every kind
  is an even sample in key order, one index seek per row kept, of at most
  twice the plan's rows or a floor (``VIEW_MIN_ROWS`` for what events point
  at, ``PLACEMENT_MIN_ROWS`` for what only deployments are placed on). Of the
  existing deployments on the sampled assets it records how many each sampled
  application has ("taken") and the pairs of only the applications it places
  deployments on ("pairs"), found from the sampled assets, never every pair of
  the estate. A sample too small for the plan is recorded again, wider, up to
  whole (``recording``): a sample's free pairs are some of the estate's, so the
  plan is refused only against the whole estate, with its exact figures;
- a process reads the recorded applications and assets back once per run: the
  layout computed while recording serves the capacity check and, in the same
  process, the run's chunks.

The run's own parents are not recorded: they are computed (``generation.own_deployments``).
"""
