"""Readers and writers of the logs an Exchange 2013 server writes (regcheck/model/SEMANTICS.md, "Observations from
Exchange's logs"): one module per log type, the file shape they share in ``exchange``."""
