"""What several test modules need, written once: test modules import from here (or get fixtures from
conftest.py), never from each other, so a test file can be moved, split or deleted on its own."""
