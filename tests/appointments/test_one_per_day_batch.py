"""One reminder per person per day through `PUT /v1/appointments`: appointments of one
person and day in one batch share their messages, as single pushes would; the rest of the
batch is stored together."""

import httpx
import pytest

from tests.appointments.conftest import put_appointment, put_rules
from tests.appointments.test_batch_upserts import item, put_batch
from tests.appointments.test_one_per_day import ONE_REMINDER, at, pending
from tests.conftest import ClinicAccess

pytestmark = pytest.mark.usefixtures("patient", "sender")


async def test_one_batch_books_a_day_with_one_reminder_and_one_confirmation(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    await put_rules(client, clinic, **ONE_REMINDER | {"booking_confirmation": True})
    await put_batch(client, clinic, [item("B1", at(14, 30)), item("B2", at(9))])
    [reminder] = await pending(client, clinic, type="reminder_1")
    [booking] = await pending(client, clinic, type="booking_confirmation")
    for message in (reminder, booking):
        assert "torsdag 3. desember kl. 09:00 og kl. 14:30" in message["text"]


async def test_a_batch_item_joins_the_reminder_already_waiting_for_that_day(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    await put_rules(client, clinic, **ONE_REMINDER)
    await put_appointment(client, clinic, "A1", start=at(14, 30))
    await put_batch(client, clinic, [item("B1", at(9)), item("B2", at(10).replace(day=4))])
    thursday, friday = await pending(client, clinic, type="reminder_1")
    assert "torsdag 3. desember kl. 09:00 og kl. 14:30" in thursday["text"]
    assert "fredag 4. desember kl. 10:00." in friday["text"]


async def test_moving_one_of_a_batch_s_shared_day_renders_it_again_for_the_other(
    client: httpx.AsyncClient, clinic: ClinicAccess
) -> None:
    await put_rules(client, clinic, **ONE_REMINDER)
    await put_batch(client, clinic, [item("B1", at(9)), item("B2", at(14, 30))])
    await put_batch(client, clinic, [item("B2", at(10).replace(day=4))])
    thursday, friday = await pending(client, clinic, type="reminder_1")
    assert "torsdag 3. desember kl. 09:00." in thursday["text"]
    assert "fredag 4. desember kl. 10:00." in friday["text"]
