"""The garbage collector in long-lived processes (the API and the worker)."""

import gc

YOUNG_THRESHOLD = 10_000
"""Allocations (less deallocations) of container objects between two collections of the
youngest generation; CPython's default is 700. A request holds thousands while it runs (a
day of 200 appointments: its rows, messages and answer): at 700 each such request set off
nine young collections, and about one in fourteen a full one (1.7 ms of its 19 ms CPU on
average, up to 8 ms in one). Nearly all of them are freed by reference counting alone."""


def freeze_startup_objects() -> None:
    """Exempt what start-up built (modules, schemas, metadata, phone-number tables) from
    the cyclic collector, once per process, and collect the young less often.

    Otherwise every full collection walks all of it again: about 0.1 s each time, and a
    10,000-recipient bulk request sets off one or two. Objects made later, by requests
    and jobs, are collected as usual, once `YOUNG_THRESHOLD` of them are alive.
    """
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
