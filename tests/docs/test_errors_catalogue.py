"""The error catalogue finds every OperatorError message of a node-code tree, as the operator will read it."""
import textwrap
from pathlib import Path

import pytest

from docs.tools import errors_catalogue
from tests.paths import REPO

SAMPLE = {
    "__init__.py": 'PLUGIN_NAME = "fuel-plugin-xenserver"\n',
    "errors.py": "class OperatorError(Exception):\n    pass\n",
    "himn.py": '''
        """The HIMN link: the compute VM's NIC on the host-internal management network."""
        from sample.errors import OperatorError
        from sample import errors, PLUGIN_NAME

        FIX_HIMN = "Add the HIMN with XenCenter's HIMN tool."

        def find(nics, path, error):
            if not nics:
                raise OperatorError("No HIMN NIC found; tried: %s." % ", ".join(nics), FIX_HIMN)
            if path is None:
                raise errors.OperatorError(
                    "Cannot read %s: %s." % (path, error.strerror),
                    "Check " + "the file.")
            raise OperatorError(cause="The %s section is missing." % PLUGIN_NAME,
                                fix="Enable {what} in {0}.".format("Settings", what="XenServer"))
        ''',
    "tasks/compute.py": '''
        from sample.errors import OperatorError

        def main(message):
            raise OperatorError(message, "Read the log.")

        def other(value):
            return SomethingElse("not an operator error %s" % value)
        ''',
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "sample"
    for name, text in SAMPLE.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_finds_literal_formatted_and_constant_messages(tree):
    messages, _ = errors_catalogue.collect(tree)
    found = {(m.module, m.cause, m.fix) for m in messages}
    assert found == {
        ("himn", "No HIMN NIC found; tried: <nics>.", "Add the HIMN with XenCenter's HIMN tool."),
        ("himn", "Cannot read <path>: <error>.", "Check the file."),
        ("himn", "The fuel-plugin-xenserver section is missing.", "Enable XenServer in Settings."),
    }


def test_reports_messages_it_cannot_read_with_their_place(tree):
    messages, problems = errors_catalogue.collect(tree)
    assert all(m.module != "tasks/compute" for m in messages)
    assert len(problems) == 1 and "compute.py:5" in problems[0]


def test_rendered_catalogue_is_valid_rest_with_every_message(tree):
    from docutils.core import publish_doctree
    from docutils.utils import Reporter

    messages, problems = errors_catalogue.collect(tree)
    text = errors_catalogue.render(messages, problems, errors_catalogue.module_summaries(tree))
    doctree = publish_doctree(text, settings_overrides={"report_level": Reporter.WARNING_LEVEL,
                                                        "halt_level": Reporter.WARNING_LEVEL})
    shown = " ".join(doctree.astext().split())
    for message in messages:
        assert message.fix in shown
    assert "Cannot read path: error." in shown   # placeholders are shown in italics, without brackets
    assert "Raised by himn The HIMN link: the compute VM's NIC" in shown


def test_the_real_node_code_has_messages_and_all_are_literal():
    messages, problems = errors_catalogue.collect(REPO / "node" / "xenserver_plugin")
    assert messages, "the node code raises OperatorError somewhere"
    assert problems == [], "every OperatorError should carry literal text the User Guide can list"
    assert all(m.cause and m.fix for m in messages)


def test_conditional_and_joined_values_read_naturally(tmp_path):
    path = tmp_path / "hostcheck.py"
    path.write_text(textwrap.dedent('''
        def check(facts, missing, region):
            raise OperatorError(
                "Host %s lacks the hotfix%s %s (region%s), SR %s." % (
                    facts.name, "es" if len(missing) > 1 else "", ", ".join(missing),
                    " %s" % region if region else "",
                    "missing" if facts.sr is None else "'%s' of type %s" % (facts.sr, facts.sr_type)),
                "Apply " + ", ".join(str(m) for m in missing) + ".")
        '''))
    [message], problems = errors_catalogue.messages_in_file(path, "hostcheck")
    assert problems == []
    assert message.cause == "Host <name> lacks the hotfixes <missing> (region <region>), SR '<sr>' of type <sr type>."
    assert message.fix == "Apply <missing>."
