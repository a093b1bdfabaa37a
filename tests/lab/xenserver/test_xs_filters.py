"""XenServer's filter language for get_all_records_where."""

import pytest

from lab.xenserver.filters import FilterSyntaxError, compile_filter

RECORDS = [
    {"name_label": "Control domain", "is_control_domain": True, "is_a_template": False, "domid": "0"},
    {"name_label": "compute \"vm\"", "is_control_domain": False, "is_a_template": False, "domid": "1"},
    {"name_label": "Debian template", "is_control_domain": False, "is_a_template": True, "domid": "-1"},
]


def names(expr):
    predicate = compile_filter(expr)
    return [r["name_label"] for r in RECORDS if predicate(r)]


@pytest.mark.parametrize(("expr", "expected"), [
    ('field "is_control_domain"="false" and field "is_a_template"="false"', ['compute "vm"']),
    ('field "is_control_domain" = "true" or field "is_a_template"="true"', ["Control domain", "Debian template"]),
    ('not field "is_control_domain"="true"', ['compute "vm"', "Debian template"]),
    ('not (field "domid"="0" or field "domid"="1")', ["Debian template"]),
    ('"1" = field "domid"', ['compute "vm"']),
    ('field "name_label"="compute \\"vm\\""', ['compute "vm"']),
    ('field "domid"<>"0" and true', ['compute "vm"', "Debian template"]),
    ('field "no_such_field"="x"', []),
    ("false or true", ["Control domain", 'compute "vm"', "Debian template"]),
    ('field "is_a_template"="false" and field "domid"="0" or field "domid"="-1"',
     ["Control domain", "Debian template"]),
])
def test_filter(expr, expected):
    assert names(expr) == expected


@pytest.mark.parametrize("expr", ['field "a"=', 'field a="b"', '(field "a"="b"', 'field "a"="b" and', "'x'='x'"])
def test_bad_filters_are_refused(expr):
    with pytest.raises(FilterSyntaxError):
        compile_filter(expr)
