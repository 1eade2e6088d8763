"""What every layer may use, and that uses no other part of seeding.

Wording for people (``formatting``), log fields (``log_context``), which
process this is (``process_identity``) and how a database refuses
(``database_outage``).
"""
