"""The storage layer, ground floor: paths, checksums, atomic writes, the one suffix map, format sniffing
and the one table codec (pandas and Arrow).

No Airflow imports at module level: ``faults/``, ``checks/`` and ``experiment/`` build on this module.
"""

from __future__ import annotations

# ====================================================================== paths, checksums, atomic writes
# (owned by the journal work; see experiment/journal.py)


# ====================================================================== suffix map, sniffing, table codec
