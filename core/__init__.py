"""The ground floor: infrastructure every app may use (the guarded outbound fetcher, ...).

``core`` imports no app of this project: apps import it, never the other way round.
"""
