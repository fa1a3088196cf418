"""Models at the HTTP edge, one module per resource: what clients send (``*Create``, ``*Put``,
``*Request``) and what they get back (``*Public``), with the conversions from the services' types.

Some response models are not defined here but re-exported: the gap, synergy and region reports
(:mod:`pactmatch.reports.models`, which the CLI's JSON, CSV and HTML writers share) and the event
inputs (:mod:`domain.events`, which the CLI validates too). One schema for each, whoever serves it.
"""
