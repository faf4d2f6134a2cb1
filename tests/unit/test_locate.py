"""Line numbers of keys in TOML text, for error messages."""

from reconciler.desired.locate import key_lines

TEXT = '''\
# comment
[container.web]
image = "x"
env.GREETING = "hi"
ports = [
  "80:80",   # first
  { target = 81 },

  "82",
]
command = """
[not.a.table]
key = 1
"""
[container."my.app"]
image = 'y'
[container.web.healthcheck]
test = ["CMD", "true"]
'''


def test_table_headers_and_keys_get_their_lines():
    lines = key_lines(TEXT)
    assert lines[("container",)] == 2
    assert lines[("container", "web")] == 2
    assert lines[("container", "web", "image")] == 3
    assert lines[("container", "web", "healthcheck", "test")] == 18


def test_dotted_and_quoted_keys_get_their_lines():
    lines = key_lines(TEXT)
    assert lines[("container", "web", "env", "GREETING")] == 4
    assert lines[("container", "my.app", "image")] == 16


def test_elements_of_a_multiline_array_get_their_own_lines():
    lines = key_lines(TEXT)
    assert [lines[("container", "web", "ports", i)] for i in range(3)] == [6, 7, 9]


def test_text_inside_a_multiline_string_is_not_taken_for_keys():
    lines = key_lines(TEXT)
    assert ("not", "a", "table") not in lines and ("container", "web", "key") not in lines
    assert lines[("container", "web", "command")] == 11
