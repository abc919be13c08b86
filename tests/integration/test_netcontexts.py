"""The presentation contexts we propose stay within pynetdicom's 128 and cover every HSG storage class."""

from __future__ import annotations

from hsg_workstation.pacs import netcontexts as nc
from hsg_workstation.pacs.client import _values, status_text


def test_cget_contexts_within_limit_and_cover_hsg_classes() -> None:
    contexts = nc.retrieve_storage_contexts()
    assert len(contexts) + 1 < nc.MAX_REQUESTED_CONTEXTS
    classes = {cx.abstract_syntax for cx in contexts}
    assert classes == set(nc.HSG_STORAGE_CLASSES)
    for uid in (
        "1.2.840.10008.5.1.4.1.1.12.2",
        "1.2.840.10008.5.1.4.1.1.88.33",
        "1.2.840.10008.5.1.4.1.1.104.1",
    ):
        assert uid in classes
    assert "1.2.840.10008.5.1.4.1.1.2" not in classes  # CT is not an HSG class
    scp = nc.scp_storage_contexts()
    assert {cx.abstract_syntax for cx in scp} == set(nc.HSG_STORAGE_CLASSES)


def test_status_texts_and_multivalues() -> None:
    assert status_text(0xA801) == "0xA801 (refused: move destination unknown)"
    assert status_text(0xC123) == "0xC123 (error: cannot understand / unable to process)"
    assert status_text(None) == "no status"
    assert _values("RF\\DX") == ["RF", "DX"]
    assert _values(["RF", "SR"]) == ["RF", "SR"]
    assert _values(None) == [] and _values(b"DX") == ["DX"]
