import io

from xenserver_plugin import image_cache, steps


def vdi(uuid, parent=None, image=None, vbds=()):
    return {"uuid": uuid, "SR": "OpaqueRef:sr", "VBDs": list(vbds),
            "sm_config": {"vhd-parent": parent} if parent else {},
            "other_config": {"image-id": image} if image else {}}


# image A: cached VDI a, base copy ba, instance disk i1 cloned from it (sibling under ba) -> used
# image B: cached VDI b, base copy bb, no instance -> unused
# image C: cached VDI c, no parent, attached by a VBD -> used
# image D: cached VDI d under bd; an instance snapshot chain i2 -> s2 -> bd -> used
RECORDS = {
    "OpaqueRef:a": vdi("a", "ba", "image-A"), "OpaqueRef:ba": vdi("ba"), "OpaqueRef:i1": vdi("i1", "ba"),
    "OpaqueRef:b": vdi("b", "bb", "image-B"), "OpaqueRef:bb": vdi("bb"),
    "OpaqueRef:c": vdi("c", None, "image-C", ["OpaqueRef:vbd"]),
    "OpaqueRef:d": vdi("d", "bd", "image-D"), "OpaqueRef:bd": vdi("bd"), "OpaqueRef:s2": vdi("s2", "bd"),
    "OpaqueRef:i2": vdi("i2", "s2"),
}


def test_only_images_nothing_uses_are_unused():
    unused = image_cache.unused_cached_images(RECORDS)
    assert [record["other_config"]["image-id"] for _, record in unused] == ["image-B"]


class FakeXenAPI(object):
    def __init__(self, records):
        self.records = dict(records)
        self.destroyed = []
        self.scanned = []
        fake = self

        class Pool(object):
            get_all = staticmethod(lambda: ["OpaqueRef:pool"])
            get_default_SR = staticmethod(lambda pool: "OpaqueRef:sr")  # noqa: N815 - XenAPI name

        class VDI(object):
            get_all_records = staticmethod(lambda: dict(fake.records))
            destroy = staticmethod(lambda ref: fake.destroyed.append(ref))

        class SR(object):
            scan = staticmethod(lambda ref: fake.scanned.append(ref))

        self.pool, self.VDI, self.SR = Pool, VDI, SR


def out():
    return io.StringIO() if str is not bytes else io.BytesIO()


def test_clean_destroys_unused_and_rescans():
    records = dict(RECORDS)
    records["OpaqueRef:other-sr"] = dict(vdi("x", None, "image-X"), SR="OpaqueRef:sr2")
    xenapi = FakeXenAPI(records)
    stream = out()
    assert image_cache.clean(xenapi, out=stream) == 1
    assert xenapi.destroyed == ["OpaqueRef:b"] and xenapi.scanned == ["OpaqueRef:sr"]
    assert "removed cached image image-B (VDI b)" in stream.getvalue()


def test_dry_run_lists_and_destroys_nothing():
    xenapi = FakeXenAPI(RECORDS)
    stream = out()
    image_cache.clean(xenapi, dry_run=True, out=stream)
    assert xenapi.destroyed == [] and xenapi.scanned == []
    assert "would remove cached image image-B" in stream.getvalue()


def test_reads_connection_from_nova_compute_conf(tmp_path):
    conf = tmp_path / "nova-compute.conf"
    conf.write_text(u"[DEFAULT]\ncompute_driver = xenapi.XenAPIDriver\n[xenserver]\nconnection_url = "
                    u"http://169.254.0.1\nconnection_username = root\nconnection_password = pw%d\n")
    assert image_cache.read_connection(str(conf)) == ("http://169.254.0.1", "root", "pw%d")


def test_install_tool_and_cron_once(tmp_path, monkeypatch):
    monkeypatch.setattr(image_cache, "TOOL_PATH", str(tmp_path / "bin" / "tool"))
    monkeypatch.setattr(image_cache, "CRON_PATH", str(tmp_path / "cron.d" / "tool"))
    run = steps.Run(out=out())
    image_cache.install(run, python="/usr/bin/python")
    assert open(image_cache.TOOL_PATH).read().startswith("#!/usr/bin/env python")
    assert "/usr/bin/python %s" % image_cache.TOOL_PATH in open(image_cache.CRON_PATH).read()
    again = steps.Run(out=out())
    image_cache.install(again, python="/usr/bin/python")
    assert again.changes == []
