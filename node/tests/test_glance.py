"""TestVM replacement in Glance, against a Keystone + Glance stand-in speaking their HTTP APIs."""
import hashlib
import json
import os

import pytest
from conftest import fixture_path
from openstack_fakes import PASSWORD, FakeOpenStack
from runs import make_run

from xenserver_plugin import glance
from xenserver_plugin.errors import OperatorError
from xenserver_plugin.tasks import primary_controller_post_deployment

IMAGE_BYTES = b"\x1f\x8b fake gzipped tar holding 0.vhd " * 1000


def fuel_openrc(auth_url, password=PASSWORD):
    """/root/openrc as Fuel 9.0's osnailyfacter template writes it (the password single-quoted)."""
    quoted = "'%s'" % password.replace("'", "'\\''")
    return ("#!/bin/sh\n"
            "export OS_NO_CACHE='true'\n"
            "export OS_TENANT_NAME='admin'\n"
            "export OS_PROJECT_NAME='admin'\n"
            "export OS_USERNAME='admin'\n"
            "export OS_PASSWORD=%s\n"
            "export OS_AUTH_URL='%s'\n"
            "export OS_DEFAULT_DOMAIN='Default'\n"
            "export OS_AUTH_STRATEGY='keystone'\n"
            "export OS_REGION_NAME='RegionOne'\n"
            "export CINDER_ENDPOINT_TYPE='internalURL'\n"
            "export GLANCE_ENDPOINT_TYPE='internalURL'\n"
            "export OS_ENDPOINT_TYPE='internalURL'\n" % (quoted, auth_url))


@pytest.fixture
def cloud():
    with FakeOpenStack() as fake:
        yield fake


@pytest.fixture
def openrc(tmpdir, cloud):
    path = tmpdir.join("openrc")
    path.write(fuel_openrc(cloud.url + "/"))
    return str(path)


@pytest.fixture
def image_dir(tmpdir):
    directory = tmpdir.mkdir("testvm")
    directory.join("testvm.tgz").write_binary(IMAGE_BYTES)
    directory.join("testvm.json").write(json.dumps({
        "name": "TestVM", "file": "testvm.tgz", "md5": hashlib.md5(IMAGE_BYTES).hexdigest(),
        "size": len(IMAGE_BYTES), "disk_format": "vhd", "container_format": "ovf",
        "properties": {"vm_mode": "xen"}}))
    return str(directory)


def test_openrc_is_read_as_the_shell_reads_it(openrc, cloud):
    variables = glance.read_openrc(openrc)
    assert variables["OS_PASSWORD"] == PASSWORD
    credentials = glance.Credentials.from_openrc(variables)
    assert (credentials.username, credentials.project, credentials.interface, credentials.region) == \
        ("admin", "admin", "internal", "RegionOne")
    assert PASSWORD not in repr(credentials)


def test_replaces_every_testvm_and_leaves_other_images(cloud, openrc, image_dir):
    cloud.add_image("TestVM")
    cloud.add_image("TestVM", visibility="private")
    other = cloud.add_image("cirros-0.3.4")
    run = make_run()
    glance.ensure_testvm(run, glance.connect(openrc), glance.ImageFile(image_dir))
    (testvm,) = cloud.named("TestVM")
    assert (testvm["disk_format"], testvm["container_format"], testvm["vm_mode"], testvm["visibility"],
            testvm["status"]) == ("vhd", "ovf", "xen", "public", "active")
    assert testvm["checksum"] == hashlib.md5(IMAGE_BYTES).hexdigest()
    assert cloud.data[testvm["id"]] == IMAGE_BYTES
    assert other in cloud.images
    assert len(run.changes) == 1


def test_second_run_changes_nothing(cloud, openrc, image_dir):
    cloud.add_image("TestVM")
    glance.ensure_testvm(make_run(), glance.connect(openrc), glance.ImageFile(image_dir))
    before = len(cloud.changes())
    run = make_run()
    glance.ensure_testvm(run, glance.connect(openrc), glance.ImageFile(image_dir))
    assert run.changes == [] and len(cloud.changes()) == before


def test_dry_run_lists_the_change_and_makes_none(cloud, openrc, image_dir):
    old = cloud.add_image("TestVM")
    run = make_run(dry_run=True)
    glance.ensure_testvm(run, glance.connect(openrc), glance.ImageFile(image_dir))
    assert len(run.changes) == 1 and "TestVM" in run.out.getvalue()
    assert cloud.changes() == [] and list(cloud.images) == [old]


def test_failed_upload_leaves_no_half_image_and_gives_glances_reason(cloud, openrc, image_dir):
    old = cloud.add_image("TestVM")
    cloud.upload_failure = (413, b"<html><head><title>413 Request Entity Too Large</title></head><body>"
                                 b"<h1>413 Request Entity Too Large</h1>Image storage media is full: "
                                 b"There is not enough disk space on the image storage media.<br /></body></html>")
    with pytest.raises(OperatorError) as raised:
        glance.ensure_testvm(make_run(), glance.connect(openrc), glance.ImageFile(image_dir))
    assert "Image storage media is full" in str(raised.value)
    assert "<" not in str(raised.value)
    assert list(cloud.images) == [old], "the half image must be deleted, the old TestVM kept"


def test_upload_refused_before_the_data_is_read_gives_glances_reason(cloud, openrc, image_dir):
    """A refusal from the headers (quota) closes the connection mid-upload: the answer still gets through."""
    big = os.path.join(image_dir, "testvm.tgz")
    with open(big, "wb") as stream:
        stream.write(b"\0" * (16 * 1024 * 1024))
    cloud.refuse_early = True
    with pytest.raises(OperatorError) as raised:
        glance.ensure_testvm(make_run(), glance.connect(openrc), glance.ImageFile(image_dir))
    assert "exceeds the storage quota" in str(raised.value)
    assert cloud.images == {}


def test_checksum_mismatch_fails_and_deletes_the_upload(cloud, openrc, image_dir):
    cloud.corrupt_upload = True
    with pytest.raises(OperatorError) as raised:
        glance.ensure_testvm(make_run(), glance.connect(openrc), glance.ImageFile(image_dir))
    assert "checksum" in str(raised.value)
    assert cloud.images == {}


def test_wrong_password_is_an_operator_error_without_the_password(tmpdir, cloud, image_dir):
    path = tmpdir.join("openrc-wrong")
    path.write(fuel_openrc(cloud.url + "/", password="not-the-one"))
    with pytest.raises(OperatorError) as raised:
        glance.connect(str(path))
    assert "refused the credentials" in str(raised.value)
    assert "not-the-one" not in str(raised.value)


def test_keystone_v2_only(tmpdir, image_dir):
    with FakeOpenStack(keystone_versions=("v2.0",)) as cloud:
        path = tmpdir.join("openrc-v2")
        path.write(fuel_openrc(cloud.url + "/"))
        glance.ensure_testvm(make_run(), glance.connect(str(path)), glance.ImageFile(image_dir))
        assert ("POST", "/v2.0/tokens") in cloud.requests
        assert len(cloud.named("TestVM")) == 1


def test_versioned_auth_url_skips_discovery(tmpdir, cloud):
    path = tmpdir.join("openrc-v3")
    path.write(fuel_openrc(cloud.url + "/v3"))
    glance.connect(str(path))
    assert ("GET", "/") not in cloud.requests and ("POST", "/v3/auth/tokens") in cloud.requests


def test_unreachable_keystone_is_an_operator_error(tmpdir):
    path = tmpdir.join("openrc-down")
    path.write(fuel_openrc("http://127.0.0.1:9/"))
    with pytest.raises(OperatorError) as raised:
        glance.connect(str(path))
    assert "Cannot authenticate with Keystone" in str(raised.value)


def test_lists_every_page(cloud, openrc):
    cloud.page_size = 5
    for number in range(12):
        cloud.add_image("TestVM" if number % 4 == 0 else "other-%d" % number)
    assert len(glance.connect(openrc).images_named("TestVM")) == 3


def test_missing_image_in_the_plugin_is_an_operator_error(tmpdir):
    with pytest.raises(OperatorError) as raised:
        glance.ImageFile(str(tmpdir))
    assert "Reinstall" in str(raised.value)


def test_task_replaces_testvm_then_reports_no_change(cloud, openrc, image_dir, tmpdir, monkeypatch, capsys):
    astute_path = fixture_path("nailgun", "xs-ha", "primary-controller-node9.yaml")
    if not os.path.exists(astute_path):
        pytest.skip("shared fixtures not found")
    cloud.add_image("TestVM")
    monkeypatch.setenv("XENSERVER_PLUGIN_OPENRC", openrc)
    monkeypatch.setenv("XENSERVER_PLUGIN_TESTVM_DIR", image_dir)
    argv = ["--astute", astute_path, "--log-dir", str(tmpdir.join("log"))]
    assert primary_controller_post_deployment.main(argv) == 0
    assert primary_controller_post_deployment.main(argv) == 0
    out = capsys.readouterr().out
    assert "made 1 change" in out and "made 0 changes" in out
    assert len(cloud.named("TestVM")) == 1
    log = tmpdir.join("log", "primary_controller_post_deployment.log").read()
    assert PASSWORD not in log and PASSWORD not in out
