"""SOURCE_DATE_EPOCH, read one way by every reproducible build step (supplemental pack, TestVM)."""
import pytest

from builder import source_date_epoch


@pytest.mark.parametrize(("value", "expected"), [(None, 1459987200), ("", 1459987200), ("1704067200", 1704067200)])
def test_unset_or_empty_falls_back_to_the_default(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    else:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    assert source_date_epoch(1459987200) == expected
