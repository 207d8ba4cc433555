import gc

from fastapi import FastAPI

from app.core.memory import YOUNG_THRESHOLD, freeze_startup_objects


async def test_start_up_objects_are_frozen_once_per_process(app: FastAPI) -> None:
    frozen = gc.get_freeze_count()
    assert frozen > 0  # the app's start-up froze what it built

    made_later = [[index] for index in range(1_000)]
    freeze_startup_objects()  # a second start in the same process (tests, reloads)

    assert gc.get_freeze_count() == frozen
    assert gc.is_tracked(made_later[0])


async def test_the_young_are_collected_after_thousands_not_hundreds(app: FastAPI) -> None:
    # A request's own objects, alive while it runs, no longer set off collections of them.
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
