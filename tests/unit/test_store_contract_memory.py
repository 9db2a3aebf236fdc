"""The in-memory backend meets the store contract (tests/unit/store_contract.py)."""
import pytest

from dmm_ryu.store.base import MemoryStore
from tests.unit.store_contract import CONTRACT


@pytest.mark.parametrize("check", CONTRACT, ids=lambda check: check.__name__)
def test_memory_store_contract(check):
    store = MemoryStore()
    check(store)
    store.close()
