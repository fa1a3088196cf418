"""Pure matching logic: recommenders, gap mapping, synergies and event matching.

Everything here works on a :class:`~matching.snapshot.Snapshot` (numpy + scipy sparse) or on
feature arrays; nothing imports a store, a driver or HTTP code.
"""
