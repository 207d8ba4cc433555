"""The garbage collector in long-lived processes (the API and the worker)."""

import gc


def freeze_startup_objects() -> None:
    """Exempt what start-up built (modules, schemas, metadata, phone-number tables) from
    the cyclic collector, once per process.

    Otherwise every full collection walks all of it again: about 0.1 s each time, and a
    10,000-recipient bulk request sets off one or two. Objects made later, by requests
    and jobs, are collected as usual.
    """
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()
