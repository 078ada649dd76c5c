"""regcheck: a model checker for transition systems, built for the Exchange 2013 registration protocol.

The core (this package) knows nothing of Exchange: it defines finite-domain transition systems,
engines that check safety properties on them, one result type and one trace type.
"""

__version__ = "0.1.0"
