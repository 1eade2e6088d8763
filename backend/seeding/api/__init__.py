"""The admin JSON API: its contract (schemas), who may call it (auth), its answers to failures (errors),
the operations (endpoints) and its routes (urls). The operations are thin callers of the seeding services."""
