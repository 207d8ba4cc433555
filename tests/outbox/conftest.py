from tests.messages.conftest import ctx as ctx
from tests.messages.conftest import reports as reports
