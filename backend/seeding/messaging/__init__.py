"""The broker side: sending a run's messages by actor name (queue) and reading what Redis holds
and which processes talk to it (broker_state, for the monitor, health checks and estimates)."""
