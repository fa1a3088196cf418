"""The bottom layer: what every other layer shares and that imports nothing of the project.

* :mod:`domain.models`: organisations, partnerships, memberships and their vocabularies;
* :mod:`domain.regions`: NUTS regions, countries and postcodes;
* :mod:`domain.errors`: the one exception hierarchy;
* :mod:`domain.events`: match-making events, attendees and schedules;
* :mod:`domain.rows`: the plain rows a store hands to the algorithms (snapshot and candidate reads).

Above it, ``embeddings``, ``matching`` and ``graph`` are siblings that never import each other;
the services in ``pactmatch`` compose them; ``api`` and the CLI sit on top
(``tests/test_architecture.py`` holds the import-linter contracts that keep it so).
"""
